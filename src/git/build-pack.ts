// Packfiles (version 2) and their version-2 index, built in memory: the same bytes serve the
// local object store (one pack a batch instead of one loose file an object) and the push to the
// remote. An object may be written as a delta against an object earlier in the same pack (never
// outside it: a pack stands alone, no thin packs), as offset deltas locally and ref deltas in a
// push (every receive-pack takes those, with or without the ofs-delta capability). Entries are zlib streams of *stored* deflate blocks: git and
// isomorphic-git read them like any other, and writing one costs a copy and a checksum instead of
// setting up a compressor per object, which dominated the commit path at ~25 µs an object.
import { createHash } from 'node:crypto';
import { open, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import type { ObjectType } from './blob-oid.ts';

export interface PackObject { oid: string; type: ObjectType; body: Uint8Array }
/** An object as a git delta (delta.ts) against `base`, which must come earlier in the same pack. */
export interface DeltaObject { oid: string; type: ObjectType; base: string; delta: Uint8Array }
/** An object already encoded as a pack entry (header + zlib data), copied from another pack as is. */
export interface RawEntry { oid: string; raw: Buffer }

const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
const OFS_DELTA = 6;
const REF_DELTA = 7;
const MAX_STORED = 0xffff;

function entryHeader(code: number, size: number): Buffer {
  const bytes: number[] = [];
  let byte = (code << 4) | (size & 0x0f);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(byte | 0x80);
    byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(byte);
  return Buffer.from(bytes);
}

/** The header of a delta entry: type, size, then where its base is (a distance back, or its id). */
function deltaHeader(size: number, distance: number | undefined, base: string): Buffer {
  if (distance === undefined) return Buffer.concat([entryHeader(REF_DELTA, size), Buffer.from(base, 'hex')]);
  const ofs: number[] = [distance & 0x7f];
  let rest = Math.floor(distance / 128);
  while (rest > 0) {
    rest--;
    ofs.unshift(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 128);
  }
  return Buffer.concat([entryHeader(OFS_DELTA, size), Buffer.from(ofs)]);
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length); // largest run without overflowing before the modulo
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Writes the 5-byte header of a stored deflate block of `len` bytes at `at`. */
function storedBlockHeader(out: Buffer, at: number, len: number, last: boolean): void {
  out[at] = last ? 1 : 0;
  out.writeUInt16LE(len, at + 1);
  out.writeUInt16LE(~len & 0xffff, at + 3);
}

/** Below this a stored stream is one copied buffer (one piece an object); above, pieces pointing into the data. */
const COPY_BELOW = 4096;

/**
 * A zlib stream holding data in stored (uncompressed) deflate blocks, as the pieces to write in
 * order. A big body is pointed into, not copied: a big folder goes into each pack whole (0.4 MB
 * for 10,000 entries), and into the push's pack too.
 */
export function zlibStored(data: Uint8Array): Uint8Array[] {
  if (data.length < COPY_BELOW) {
    const out = Buffer.allocUnsafe(2 + 5 + data.length + 4);
    out[0] = 0x78;
    out[1] = 0x01;
    storedBlockHeader(out, 2, data.length, true);
    out.set(data, 7);
    out.writeUInt32BE(adler32(data), 7 + data.length);
    return [out];
  }
  const blocks = Math.ceil(data.length / MAX_STORED);
  const pieces: Uint8Array[] = [Buffer.from([0x78, 0x01])];
  for (let k = 0; k < blocks; k++) {
    const start = k * MAX_STORED;
    const len = Math.min(MAX_STORED, data.length - start);
    const head = Buffer.allocUnsafe(5);
    storedBlockHeader(head, 0, len, k === blocks - 1);
    pieces.push(head, data.subarray(start, start + len));
  }
  const adler = Buffer.allocUnsafe(4);
  adler.writeUInt32BE(adler32(data), 0);
  pieces.push(adler);
  return pieces;
}

/**
 * Entries smaller than this are stored even in a compressed pack: deflating a 300-byte ConfigMap
 * saves ~100 bytes, and a zlib stream per object left ~160 MiB of native memory behind after a
 * 10,000-object push (bench/snapshot-memory.ts, 2026-12-05).
 */
const COMPRESS_MIN_BYTES = 4096;

/** Pieces a writev takes at a time (the system's IOV_MAX is 1,024). */
const WRITEV_PIECES = 1024;

/**
 * A pack of objects as the pieces to write in order (headers, entries, the checksum), without one
 * buffer holding it all: a local pack is written piece by piece, a push copies them once into its
 * body. `compress` deflates each entry (slower, for long-lived packs), otherwise entries are
 * stored. `refDelta` writes deltas with their base's id instead of its offset; with `thin` too, a
 * base may be missing from the pack (the remote that receives it has it: a thin pack, which git's
 * receive-pack completes with `index-pack --fix-thin`).
 */
export function packPieces(objects: readonly (PackObject | DeltaObject | RawEntry)[], opts: { index?: boolean; compress?: boolean; refDelta?: boolean; thin?: boolean } = {}): { name: string; pieces: Uint8Array[]; bytes: number; idx: Buffer } {
  const withIndex = opts.index ?? true;
  const offsets = new Map<string, number>();
  const chunks: Uint8Array[] = [];
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(objects.length, 8);
  chunks.push(header);
  const entries: { oid: Buffer; crc: number; offset: number }[] = [];
  let offset = 12;
  for (const o of objects) {
    offsets.set(o.oid, offset);
    if ('raw' in o) {
      if (withIndex) entries.push({ oid: Buffer.from(o.oid, 'hex'), crc: crc32(o.raw), offset });
      chunks.push(o.raw);
      offset += o.raw.length;
      continue;
    }
    let head: Buffer;
    let payload: Uint8Array;
    if ('delta' in o) {
      const baseAt = offsets.get(o.base);
      if ((baseAt === undefined && !(opts.thin && opts.refDelta)) || baseAt === offset) throw new Error(`delta base ${o.base} of ${o.oid} is not earlier in the pack`);
      head = deltaHeader(o.delta.byteLength, opts.refDelta || baseAt === undefined ? undefined : offset - baseAt, o.base);
      payload = o.delta;
    } else {
      head = entryHeader(TYPE_CODE[o.type], o.body.byteLength);
      payload = o.body;
    }
    const data = opts.compress && payload.byteLength >= COMPRESS_MIN_BYTES ? [deflateSync(payload)] : zlibStored(payload);
    let crc = crc32(head);
    let size = head.length;
    for (const piece of data) {
      if (withIndex) crc = crc32(piece, crc);
      size += piece.length;
    }
    if (withIndex) entries.push({ oid: Buffer.from(o.oid, 'hex'), crc, offset });
    chunks.push(head, ...data);
    offset += size;
  }
  const hash = createHash('sha1');
  for (const chunk of chunks) hash.update(chunk);
  const packSha = hash.digest();
  chunks.push(packSha);
  return { name: `pack-${packSha.toString('hex')}`, pieces: chunks, bytes: offset + 20, idx: withIndex ? buildIndex(entries, packSha) : Buffer.alloc(0) };
}

function buildIndex(entries: { oid: Buffer; crc: number; offset: number }[], packSha: Buffer): Buffer {
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
  return idx;
}

/** Writes `pack-<sha>.pack` and `.idx` into packDir, the index last so readers never see half a pack. */
export async function writePack(packDir: string, objects: readonly (PackObject | DeltaObject | RawEntry)[], compress = false): Promise<{ name: string; bytes: number }> {
  // Written piece by piece (writev), not copied into one buffer first: a pack in a burst of
  // creates into a big folder is ~0.7 MB, one a push.
  const { name, pieces, bytes, idx } = packPieces(objects, { compress });
  const tmp = join(packDir, `tmp-${process.pid}-${name}`);
  const fh = await open(`${tmp}.pack`, 'w');
  try {
    for (let at = 0; at < pieces.length; at += WRITEV_PIECES) {
      const batch = pieces.slice(at, at + WRITEV_PIECES);
      const want = batch.reduce((n, p) => n + p.byteLength, 0);
      const { bytesWritten } = await fh.writev(batch);
      if (bytesWritten !== want) throw new Error(`short write of ${tmp}.pack: ${bytesWritten} of ${want} bytes`);
    }
  } finally {
    await fh.close();
  }
  await rename(`${tmp}.pack`, join(packDir, `${name}.pack`));
  await writeFile(`${tmp}.idx`, idx);
  await rename(`${tmp}.idx`, join(packDir, `${name}.idx`));
  return { name, bytes: bytes + idx.length };
}
