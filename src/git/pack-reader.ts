// Reads objects from one packfile through its version-2 index, with positional reads (the pack
// stays on disk) and native zlib, resolving both delta kinds git uses (offset and ref deltas).
// isomorphic-git can read packs too, but it lists the pack folder, probes for a loose file and
// inflates in JavaScript on every call: ~1 ms an object, which made reading a 10,000-file tree
// (open, replay, compaction) take seconds.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import type { ObjectType } from './blob-oid.ts';
import { applyDelta } from './delta.ts';

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
// Objects read are kept for the deltas read next (chains share bases), bounded by count and by
// bytes: the trees of a big folder are ~0.6 MB each, and 512 of them per pack held 265 MiB after a
// minute of changes into one folder of 10,000 objects.
const BASE_CACHE = 512;
const BASE_CACHE_BYTES = 16 * 1024 * 1024;

export interface RawObject { type: ObjectType; body: Buffer }

export class PackReader {
  private readonly baseCache = new Map<number, RawObject>();
  private baseCacheBytes = 0;

  private constructor(
    readonly path: string,
    private fd: number | undefined,
    private readonly offsets: Map<string, number>,
    /** Entry start → next entry start (or the trailer): the compressed extent of each entry. */
    private readonly ends: Map<number, number>,
  ) {}

  static async open(packPath: string): Promise<PackReader> {
    const idx = await readFile(packPath.replace(/\.pack$/, '.idx'));
    if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error(`unsupported pack index ${packPath}`);
    const n = idx.readUInt32BE(8 + 255 * 4);
    const namesAt = 8 + 256 * 4;
    const offsetsAt = namesAt + n * 20 + n * 4;
    const largeAt = offsetsAt + n * 4;
    const offsets = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      let off = idx.readUInt32BE(offsetsAt + i * 4);
      if (off & 0x80000000) off = Number(idx.readBigUInt64BE(largeAt + (off & 0x7fffffff) * 8));
      offsets.set(idx.toString('hex', namesAt + i * 20, namesAt + i * 20 + 20), off);
    }
    const fd = openSync(packPath, 'r');
    const sorted = [...offsets.values()].sort((a, b) => a - b);
    const trailer = fstatSync(fd).size - 20;
    const ends = new Map<number, number>();
    sorted.forEach((off, i) => ends.set(off, sorted[i + 1] ?? trailer));
    return new PackReader(packPath, fd, offsets, ends);
  }

  /** Bytes of the objects kept for the next reads (bounded; see BASE_CACHE_BYTES). */
  get cachedBytes(): number {
    return this.baseCacheBytes;
  }

  has(oid: string): boolean {
    return this.offsets.has(oid);
  }

  /** The object, or undefined if this pack does not hold it; ref-delta bases come from `external`. */
  read(oid: string, external: (oid: string) => RawObject | undefined): RawObject | undefined {
    const off = this.offsets.get(oid);
    return off === undefined ? undefined : this.readAt(off, external);
  }

  /** The entry's bytes as they sit in the pack (header + zlib data), unless it is a delta. */
  rawEntry(oid: string): Buffer | undefined {
    const off = this.offsets.get(oid);
    if (off === undefined || this.fd === undefined) return undefined;
    const end = this.ends.get(off)!;
    const raw = Buffer.allocUnsafe(end - off);
    readSync(this.fd, raw, 0, raw.length, off);
    const kind = (raw[0]! >> 4) & 7;
    return kind === OFS_DELTA || kind === REF_DELTA ? undefined : raw;
  }

  get size(): number {
    return this.offsets.size;
  }

  private readAt(offset: number, external: (oid: string) => RawObject | undefined): RawObject {
    const cached = this.baseCache.get(offset);
    if (cached) return cached;
    if (this.fd === undefined) throw new Error(`pack ${this.path} is closed`);
    const end = this.ends.get(offset);
    if (end === undefined) throw new Error(`no object at offset ${offset} of ${this.path}`);
    const raw = Buffer.allocUnsafe(end - offset);
    readSync(this.fd, raw, 0, raw.length, offset);
    let at = 0;
    let byte = raw[at++]!;
    const kind = (byte >> 4) & 7;
    while (byte & 0x80) byte = raw[at++]!; // the size is known again after inflating
    let obj: RawObject;
    if (kind === OFS_DELTA) {
      byte = raw[at++]!;
      let rel = byte & 0x7f;
      while (byte & 0x80) {
        byte = raw[at++]!;
        rel = (rel + 1) * 128 + (byte & 0x7f);
      }
      const base = this.readAt(offset - rel, external);
      obj = { type: base.type, body: applyDelta(base.body, inflateSync(raw.subarray(at))) };
    } else if (kind === REF_DELTA) {
      const baseOid = raw.toString('hex', at, at + 20);
      const base = this.read(baseOid, external) ?? external(baseOid);
      if (!base) throw new Error(`delta base ${baseOid} missing for ${this.path}`);
      obj = { type: base.type, body: applyDelta(base.body, inflateSync(raw.subarray(at + 20))) };
    } else {
      const type = TYPES[kind];
      if (!type) throw new Error(`unknown object type ${kind} in ${this.path}`);
      obj = { type, body: inflateSync(raw.subarray(at)) };
    }
    if (obj.body.byteLength <= BASE_CACHE_BYTES / 4) {
      while (this.baseCache.size >= BASE_CACHE || (this.baseCache.size > 0 && this.baseCacheBytes + obj.body.byteLength > BASE_CACHE_BYTES)) {
        const [oldest, o] = this.baseCache.entries().next().value!;
        this.baseCache.delete(oldest);
        this.baseCacheBytes -= o.body.byteLength;
      }
      this.baseCache.set(offset, obj);
      this.baseCacheBytes += obj.body.byteLength;
    }
    return obj;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
