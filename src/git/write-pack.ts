// Writes a batch of objects as one packfile plus its version-2 index, the way git stores
// objects it received. One pack a batch instead of one loose file an object keeps the hot path
// to a single file write per commit (see object-store.ts) and the object directory small.
import { createHash } from 'node:crypto';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { ObjectType } from './blob-oid.ts';

export interface PackObject { oid: string; type: ObjectType; body: Uint8Array }

const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

function entryHeader(type: ObjectType, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (TYPE_CODE[type] << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

/** Writes `pack-<sha>.pack` and `.idx` into packDir (the index last, so readers never see half a pack). */
export async function writePack(packDir: string, objects: readonly PackObject[]): Promise<string> {
  const chunks: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  chunks.push(header);
  const entries: { oid: Buffer; crc: number; offset: number }[] = [];
  let offset = 12;
  for (const o of objects) {
    const head = entryHeader(o.type, o.body.byteLength);
    // Level 1: these packs are short-lived (pushed, then compacted); speed beats size here.
    const data = deflateSync(o.body, { level: 1 });
    entries.push({ oid: Buffer.from(o.oid, 'hex'), crc: crc32(data, crc32(head)), offset });
    chunks.push(head, data);
    offset += head.length + data.length;
  }
  const hash = createHash('sha1');
  for (const c of chunks) hash.update(c);
  const packSha = hash.digest();
  chunks.push(packSha);
  const name = `pack-${packSha.toString('hex')}`;

  entries.sort((a, b) => Buffer.compare(a.oid, b.oid));
  const n = entries.length;
  const large = entries.filter((e) => e.offset >= 0x80000000);
  const idx = Buffer.alloc(8 + 256 * 4 + n * 28 + large.length * 8 + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  let at = 8;
  let k = 0;
  for (let b = 0; b < 256; b++) {
    while (k < n && entries[k]!.oid[0]! <= b) k++;
    idx.writeUInt32BE(k, at);
    at += 4;
  }
  for (const e of entries) { e.oid.copy(idx, at); at += 20; }
  for (const e of entries) { idx.writeUInt32BE(e.crc >>> 0, at); at += 4; }
  let li = 0;
  for (const e of entries) {
    idx.writeUInt32BE(e.offset >= 0x80000000 ? (0x80000000 | li++) >>> 0 : e.offset, at);
    at += 4;
  }
  for (const e of large) { idx.writeBigUInt64BE(BigInt(e.offset), at); at += 8; }
  packSha.copy(idx, at);
  at += 20;
  createHash('sha1').update(idx.subarray(0, at)).digest().copy(idx, at);

  const tmp = join(packDir, `tmp-${process.pid}-${name}`);
  await writeFile(`${tmp}.pack`, Buffer.concat(chunks));
  await rename(`${tmp}.pack`, join(packDir, `${name}.pack`));
  await writeFile(`${tmp}.idx`, idx);
  await rename(`${tmp}.idx`, join(packDir, `${name}.idx`));
  return name;
}
