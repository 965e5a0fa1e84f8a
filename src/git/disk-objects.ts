// The objects of a bare repository already on disk: packs (fetched, or written by our flushes),
// read through pack-reader.ts with one bounded cache of delta bases for all of them, and loose
// objects (as the git CLI leaves them). Ref-delta bases are looked up across packs; a chain that
// comes back to an object it passed is reported as a damaged store instead of recursing forever.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { KubescribeError } from '../errors.ts';
import type { ObjectType } from './blob-oid.ts';
import { PackCache, PackReader, type RawObject } from './pack-reader.ts';

export class DiskObjects {
  private readonly packs = new Map<string, PackReader>();
  /** Objects read from any of the packs, for the next delta reads: one bounded cache for all. */
  private readonly cache = new PackCache();

  constructor(private readonly dir: string) {}

  get packCount(): number {
    return this.packs.size;
  }

  has(oid: string): boolean {
    for (const pack of this.packs.values()) if (pack.has(oid)) return true;
    return false;
  }

  /** From any pack; `visiting` holds the objects whose ref-delta bases are being read across packs. */
  readPacked(oid: string, visiting = new Set<string>()): RawObject | undefined {
    if (visiting.has(oid)) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `the packs in ${this.dir} hold a delta cycle through ${oid}`);
    visiting.add(oid);
    for (const pack of this.packs.values()) {
      const o = pack.read(oid, (base) => this.readPacked(base, visiting));
      if (o) return o;
    }
    return undefined;
  }

  /** The object's pack entry as stored on disk, when it is a plain (non-delta) packed entry. */
  rawEntry(oid: string): Buffer | undefined {
    for (const pack of this.packs.values()) {
      if (pack.has(oid)) return pack.rawEntry(oid);
    }
    return undefined;
  }

  async readLoose(oid: string): Promise<{ type: ObjectType; body: Uint8Array } | undefined> {
    const file = await readFile(join(this.dir, 'objects', oid.slice(0, 2), oid.slice(2))).catch(() => undefined);
    if (!file) return undefined;
    const raw = inflateSync(file);
    const nul = raw.indexOf(0);
    const type = raw.toString('latin1', 0, raw.indexOf(0x20)) as ObjectType;
    return { type, body: raw.subarray(nul + 1) };
  }

  /** Opens a pack just written into objects/pack (`name` without extension). */
  async add(name: string): Promise<void> {
    this.packs.set(`${name}.pack`, await PackReader.open(join(this.dir, 'objects', 'pack', `${name}.pack`), this.cache));
  }

  /** Opens packs added to the folder and drops removed ones; true if anything changed. */
  async refresh(): Promise<boolean> {
    const packDir = join(this.dir, 'objects', 'pack');
    const names = new Set((await readdir(packDir).catch(() => [] as string[])).filter((f) => f.startsWith('pack-') && f.endsWith('.idx')).map((f) => f.replace(/\.idx$/, '.pack')));
    let changed = false;
    for (const [name, reader] of this.packs) {
      if (!names.has(name)) {
        reader.close();
        this.cache.dropPack(reader.path);
        this.packs.delete(name);
        changed = true;
      }
    }
    for (const name of names) {
      if (this.packs.has(name)) continue;
      this.packs.set(name, await PackReader.open(join(packDir, name), this.cache));
      changed = true;
    }
    return changed;
  }

  close(): void {
    for (const reader of this.packs.values()) reader.close();
    for (const reader of this.packs.values()) this.cache.dropPack(reader.path);
    this.packs.clear();
  }
}
