// Reads objects from one packfile through its version-2 index, with positional reads (the pack
// stays on disk) and native zlib, resolving both delta kinds git uses (offset and ref deltas).
// isomorphic-git can read packs too, but it lists the pack folder, probes for a loose file and
// inflates in JavaScript on every call: ~1 ms an object, which made reading a 10,000-file tree
// (open, replay, compaction) take seconds. Delta chains are read in a loop with cycle detection.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { KubescribeError } from '../errors.ts';
import type { ObjectType } from './blob-oid.ts';
import { applyDelta } from './delta.ts';

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const OFS_DELTA = 6;
const REF_DELTA = 7;
export interface RawObject { type: ObjectType; body: Buffer }

/**
 * Objects read from packs, kept for the deltas read next (chains share bases), bounded by count
 * and by bytes, and shared by every pack of a store: the trees of a big folder are ~0.6 MB each;
 * 512 of them per pack held 265 MiB, and a cache per pack (a push adds a pack, up to 64 before
 * compaction) let buffer memory grow by ~10 MiB/s under 100 changes/s into such a folder.
 */
export class PackCache {
  private readonly entries = new Map<string, RawObject>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024, private readonly maxCount = 512) {}

  get cachedBytes(): number {
    return this.bytes;
  }

  get(key: string): RawObject | undefined {
    return this.entries.get(key);
  }

  set(key: string, obj: RawObject): void {
    const size = obj.body.byteLength;
    if (size > this.maxBytes / 4 || this.entries.has(key)) return;
    while (this.entries.size > 0 && (this.entries.size >= this.maxCount || this.bytes + size > this.maxBytes)) {
      const [oldest, o] = this.entries.entries().next().value!;
      this.entries.delete(oldest);
      this.bytes -= o.body.byteLength;
    }
    this.entries.set(key, obj);
    this.bytes += size;
  }

  /**
   * Forgets what was read from a pack that is gone (compaction removes every pack but one): its
   * entries could never be read again, yet would hold up to the whole budget (16 MiB of a big
   * folder's versions after a burst) until newer reads pushed them out.
   */
  dropPack(path: string): void {
    const prefix = `${path}#`;
    for (const [key, o] of this.entries) {
      if (!key.startsWith(prefix)) continue;
      this.entries.delete(key);
      this.bytes -= o.body.byteLength;
    }
  }
}

/**
 * The first 8 hex digits of the last id looked up, as a number: one lookup goes through every
 * pack of a store (up to 64 between compactions) with the same id.
 */
let lastOid = '';
let lastWord = 0;

function firstWord(oid: string): number {
  if (oid !== lastOid) {
    lastOid = oid;
    lastWord = Number.parseInt(oid.slice(0, 8), 16);
  }
  return lastWord;
}

export class PackReader {
  private constructor(
    readonly path: string,
    private readonly cache: PackCache,
    private fd: number | undefined,
    /**
     * The index's sorted ids (20 bytes each), its fan-out table and each entry's offset, in the
     * index's order; an id is found by binary search, as git does. A Map of hex ids to offsets
     * held ~90 bytes of V8 heap per object for the life of the pack (9 MiB at 100,000 objects);
     * this is 28 bytes, outside the heap, and commits cost the same (bench/folder-creates.ts).
     */
    private readonly names: Buffer,
    private readonly fanout: Uint32Array,
    private readonly offsets: Float64Array,
    /**
     * Every entry's start, in order, then the trailer's: an entry ends where the next one starts.
     * A typed array, not a Map of start → end: ~4 MiB less at 100,000 objects.
     */
    private readonly starts: Float64Array,
  ) {}

  /** Where the entry starting at `offset` ends, or undefined if no entry starts there. */
  private endOf(offset: number): number | undefined {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1; // the last one is the trailer
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (starts[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < starts.length - 1 && starts[lo] === offset ? starts[lo + 1] : undefined;
  }

  /** `cache`: shared with the other packs of the store (by default one of its own). */
  static async open(packPath: string, cache = new PackCache()): Promise<PackReader> {
    const idx = await readFile(packPath.replace(/\.pack$/, '.idx'));
    if (idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error(`unsupported pack index ${packPath}`);
    const n = idx.readUInt32BE(8 + 255 * 4);
    const fanout = new Uint32Array(256);
    for (let b = 0; b < 256; b++) fanout[b] = idx.readUInt32BE(8 + b * 4);
    const namesAt = 8 + 256 * 4;
    const offsetsAt = namesAt + n * 20 + n * 4;
    const largeAt = offsetsAt + n * 4;
    const offsets = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let off = idx.readUInt32BE(offsetsAt + i * 4);
      if (off & 0x80000000) off = Number(idx.readBigUInt64BE(largeAt + (off & 0x7fffffff) * 8));
      offsets[i] = off;
    }
    const names = Buffer.from(idx.subarray(namesAt, namesAt + n * 20)); // a copy: the rest of the index goes
    const fd = openSync(packPath, 'r');
    const starts = new Float64Array(n + 1);
    starts.set(offsets);
    starts[n] = fstatSync(fd).size - 20;
    starts.subarray(0, n).sort();
    return new PackReader(packPath, cache, fd, names, fanout, offsets, starts);
  }

  /** The entry of `oid` in the index's order, or -1. */
  private indexOf(oid: string): number {
    if (oid.length !== 40) return -1;
    const word = firstWord(oid);
    const byte = word >>> 24;
    const names = this.names;
    let lo = byte === 0 ? 0 : this.fanout[byte - 1]!;
    let hi = this.fanout[byte]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const at = mid * 20;
      const w = names.readUInt32BE(at);
      let order = w - word;
      if (order === 0) {
        const rest = names.toString('hex', at + 4, at + 20);
        const wanted = oid.slice(8);
        if (rest === wanted) return mid;
        order = rest < wanted ? -1 : 1;
      }
      if (order < 0) lo = mid + 1;
      else hi = mid;
    }
    return -1;
  }

  has(oid: string): boolean {
    return this.indexOf(oid) >= 0;
  }

  /** The object, or undefined if this pack does not hold it; ref-delta bases come from `external`. */
  read(oid: string, external: (oid: string) => RawObject | undefined): RawObject | undefined {
    const i = this.indexOf(oid);
    return i < 0 ? undefined : this.readAt(this.offsets[i]!, external);
  }

  /** The entry's bytes as they sit in the pack (header + zlib data), unless it is a delta. */
  rawEntry(oid: string): Buffer | undefined {
    const i = this.indexOf(oid);
    if (i < 0 || this.fd === undefined) return undefined;
    const off = this.offsets[i]!;
    const end = this.endOf(off)!;
    const raw = Buffer.allocUnsafe(end - off);
    readSync(this.fd, raw, 0, raw.length, off);
    const kind = (raw[0]! >> 4) & 7;
    return kind === OFS_DELTA || kind === REF_DELTA ? undefined : raw;
  }

  get size(): number {
    return this.offsets.length;
  }

  /**
   * The object at offset: walks its delta chain down to a whole object in a loop (offset deltas
   * in this pack, ref deltas here or through `external`), then applies the deltas back up. A
   * chain that comes back to an entry it passed is a damaged pack, reported, never a recursion.
   */
  private readAt(offset: number, external: (oid: string) => RawObject | undefined): RawObject {
    const chain: Array<{ key: string; delta: Buffer }> = [];
    const seen = new Set<number>();
    let at = offset;
    let obj: RawObject | undefined;
    while (!obj) {
      const key = `${this.path}#${at}`;
      const cached = this.cache.get(key);
      if (cached) { obj = cached; break; }
      if (seen.has(at)) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `pack ${this.path} holds a delta cycle at offset ${at}`);
      seen.add(at);
      const entry = this.entryAt(at);
      if ('body' in entry) {
        obj = entry;
        this.cache.set(key, obj);
      } else {
        chain.push({ key, delta: entry.delta });
        if (entry.baseOffset !== undefined) {
          at = entry.baseOffset;
        } else {
          const here = this.indexOf(entry.baseOid);
          if (here >= 0) at = this.offsets[here]!;
          else {
            obj = external(entry.baseOid);
            if (!obj) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `delta base ${entry.baseOid} missing for ${this.path}`);
          }
        }
      }
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      obj = { type: obj.type, body: applyDelta(obj.body, inflateSync(chain[i]!.delta)) };
      this.cache.set(chain[i]!.key, obj);
    }
    return obj;
  }

  /** One entry as stored: a whole object, or a delta (still deflated) and where its base is. */
  private entryAt(offset: number): RawObject | { delta: Buffer; baseOffset?: number; baseOid: string } {
    if (this.fd === undefined) throw new Error(`pack ${this.path} is closed`);
    const end = this.endOf(offset);
    if (end === undefined) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `no object at offset ${offset} of ${this.path}`);
    const raw = Buffer.allocUnsafe(end - offset);
    readSync(this.fd, raw, 0, raw.length, offset);
    let at = 0;
    let byte = raw[at++]!;
    const kind = (byte >> 4) & 7;
    while (byte & 0x80) byte = raw[at++]!; // the size is known again after inflating
    if (kind === OFS_DELTA) {
      byte = raw[at++]!;
      let rel = byte & 0x7f;
      while (byte & 0x80) {
        byte = raw[at++]!;
        rel = (rel + 1) * 128 + (byte & 0x7f);
      }
      if (rel <= 0 || rel > offset) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `bad delta base offset at ${offset} of ${this.path}`);
      return { delta: raw.subarray(at), baseOffset: offset - rel, baseOid: '' };
    }
    if (kind === REF_DELTA) return { delta: raw.subarray(at + 20), baseOid: raw.toString('hex', at, at + 20) };
    const type = TYPES[kind];
    if (!type) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `unknown object type ${kind} in ${this.path}`);
    return { type, body: inflateSync(raw.subarray(at)) };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
