// The writer's object database. New objects live in memory and in an append-only journal
// (one write a commit, so a commit survives a process crash the moment commit() returns);
// flush() turns them into one packfile, moves the branch ref and empties the journal. Reads of
// everything already on disk (fetched packs, our packs, loose objects) go through disk-objects.ts;
// the journal format is journal.ts.
// On open, a journal left by a crash is replayed up to its last complete commit.
// A new version of a big folder (a tree of thousands of entries) is kept, journaled and packed
// as a delta against its previous version when that one is still in memory (deltas chain at most
// MAX_DEPTH deep, as git's own packs): a commit to a folder of 10,000 files then costs ~100 bytes
// of memory, journal and pack instead of ~600 KB. Reading such an object applies the deltas.
// Deltas can never form a cycle: an object already stored (in memory or in a pack) is never
// stored again, so a delta's base is always older than the object, and chains are read in a
// loop that fails with KUBESCRIBE_ERR_GIT_STORE_CORRUPT instead of recursing. Before this rule
// (issue 18) a folder that went back to an earlier version was stored again as a delta of its
// successor (A -> B -> A); such journals are repaired on open by the same rule.
import * as fs from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { KubescribeError } from '../errors.ts';
import { hashObject, type ObjectType } from './blob-oid.ts';
import { EMPTY_TREE } from './object-format.ts';
import { writePack, type DeltaObject, type PackObject } from './build-pack.ts';
import { applyDelta, encodeDelta } from './delta.ts';
import { DeltaChains, MAX_DEPTH } from './delta-chain.ts';
import { DiskObjects } from './disk-objects.ts';
import { CODE_TYPE, DELTA, JOURNAL, journalRecord, journalRecords, TIP, TYPE_CODE } from './journal.ts';

/** Objects smaller than this are always stored whole: a delta would save little. */
export const DELTA_MIN_BYTES = 4096;
// Objects of unpushed commits stay readable from memory for the next push, up to this much.
const RECENT_CAP_BYTES = 256 * 1024 * 1024;

export interface StoredObject { type: ObjectType; body: Uint8Array }
/** What opening the store found in a journal left behind and had to set right. */
export interface JournalRepairs {
  /** Records of objects that were already stored (the old code's way into a delta cycle): skipped. */
  duplicates: number;
  /** Records that could not be read (a missing or cyclic base): the journal was cut before them. */
  unreadable: number;
}
/** A version an object can be stored as a delta against: its id and its body. */
export interface DeltaBase { oid: string; body: Uint8Array }
/**
 * `thin`: the first version of a folder in a pack is stored whole (a pack stands alone), but a push
 * may send it as a delta of the version before it when the remote has that one (push-branch.ts).
 * `depth`: of the delta chain it ends, as a push may send it; so a whole version with `thin` is 1.
 */
type Entry = (PackObject | DeltaObject) & { depth: number; thin?: { base: string; delta: Buffer } };

const entryBytes = (e: Entry): number => ('body' in e ? e.body.byteLength : e.delta.byteLength) + (e.thin?.delta.byteLength ?? 0);


export class ObjectStore {
  /** isomorphic-git's cache (pack indexes): shared by every isomorphic-git call on this repo. */
  cache: object = {};
  private readonly pending = new Map<string, Entry>();
  private recent = new Map<string, Entry & { seq: number }>();
  private readonly chains: DeltaChains;
  private recentBytes = 0;
  private seq = 0;
  private staged: Buffer[] = [];
  private pendingBytes = 0;
  private tipOnDisk: string | undefined;
  private tip: string | undefined;
  private fd: number | undefined;
  private readonly disk: DiskObjects;
  /** Bytes of packs on disk since the last compaction (see compact-store.ts). */
  packedBytes = 0;
  /** Set by open() when the journal needed repairs. */
  repairs: JournalRepairs | undefined;

  private constructor(readonly dir: string, readonly branch: string) {
    this.disk = new DiskObjects(dir);
    this.chains = new DeltaChains(dir, (oid) => this.pending.get(oid) ?? this.recent.get(oid), (oid) => this.disk.readPacked(oid)?.body);
  }

  /**
   * Opens the store of a bare repository, replaying a journal a crash left behind. `readOnly`
   * (for salvaging a damaged store): the journal is read into memory, nothing is written.
   */
  static async open(dir: string, branch: string, opts: { readOnly?: boolean } = {}): Promise<ObjectStore> {
    const store = new ObjectStore(dir, branch);
    if (!opts.readOnly) await mkdir(join(dir, 'objects', 'pack'), { recursive: true });
    store.tipOnDisk = await store.readRef(`refs/heads/${branch}`);
    store.tip = store.tipOnDisk;
    const packDir = join(dir, 'objects', 'pack');
    for (const f of await readdir(packDir).catch(() => [])) {
      if (f.endsWith('.pack')) store.packedBytes += (await stat(join(packDir, f))).size;
    }
    await store.disk.refresh();
    const journal = join(dir, JOURNAL);
    const data = await readFile(journal).catch(() => undefined);
    if (data && data.length > 0) store.recover(data);
    if (opts.readOnly) return store;
    // Records that cannot be read are kept aside, not lost with the truncation below.
    if (data && store.repairs?.unreadable) await writeFile(`${journal}.unread-${Date.now()}`, data);
    store.fd = fs.openSync(journal, 'a');
    if (data && data.length > 0) await store.flush();
    return store;
  }

  private recover(data: Buffer): void {
    const repairs: JournalRepairs = { duplicates: 0, unreadable: 0 };
    let group: Entry[] = [];
    for (const { kind, payload } of journalRecords(data)) {
      if (kind === TIP) {
        for (const o of group) this.remember(o);
        group = [];
        this.tip = payload.toString('hex');
        continue;
      }
      let entry: Entry;
      if (CODE_TYPE[kind]) {
        const type = CODE_TYPE[kind];
        const body = Buffer.from(payload);
        entry = { oid: hashObject(type, body), type, body, depth: 0 };
      } else if (kind === DELTA && CODE_TYPE[payload[0]!] && payload.length > 21) {
        const type = CODE_TYPE[payload[0]!]!;
        const base = payload.toString('hex', 1, 21);
        const delta = Buffer.from(payload.subarray(21));
        let body: Buffer;
        try {
          body = applyDelta(this.chains.body(base), delta);
        } catch {
          repairs.unreadable++;
          break; // a base we cannot find: stop at the last sure point
        }
        const oid = hashObject(type, body);
        this.chains.remember(oid, body);
        entry = { oid, type, base, delta, depth: (this.pending.get(base)?.depth ?? 0) + 1 };
      } else {
        repairs.unreadable++;
        break; // unknown record: stop at the last sure point
      }
      if (this.stored(entry.oid)) {
        // Stored twice: the second copy may be a delta of an object that is itself a delta of
        // the first. Keep the first (older) one only.
        if (!this.pending.has(entry.oid)) repairs.duplicates++;
        continue;
      }
      // In pending at once: later objects of the group may be deltas against it.
      this.pending.set(entry.oid, entry);
      this.pendingBytes += entryBytes(entry);
      group.push(entry);
    }
    // `group` (objects after the last tip marker) belongs to a commit that never completed.
    for (const o of group) {
      this.pending.delete(o.oid);
      this.pendingBytes -= entryBytes(o);
    }
    if (repairs.duplicates + repairs.unreadable > 0) this.repairs = repairs;
  }

  async readRef(ref: string): Promise<string | undefined> {
    try {
      return await git.resolveRef({ fs, gitdir: this.dir, ref });
    } catch {
      return undefined;
    }
  }

  /**
   * Adds an object (kept in memory, journaled with the next setTip) and returns its id. With
   * `base` (an earlier version of it), a big object is kept as a delta when the base is in memory.
   */
  write(type: ObjectType, body: Uint8Array, knownOid?: string, base?: DeltaBase): string {
    const oid = knownOid ?? hashObject(type, body);
    // Never stored twice: a second copy could be a delta of its own descendant (a cycle).
    if (this.stored(oid)) return oid;
    let o: Entry = { oid, type, body, depth: 0 };
    // The base is stored already, so it is older than oid: chains only ever point back in time.
    // It must also wait for the same pack: a pack stands alone, so the first version of a folder
    // in a pack goes whole, and as a delta of a version packed already, writing the pack (and
    // each push) rebuilt it through that older pack's chain — ~15 bodies of 0.4 MB a push in a
    // burst of creates into one folder, 270 MiB of Buffers for 10,000 creates. Whole from the
    // start it costs one body a pack.
    const candidate = base && base.oid !== oid && body.byteLength >= DELTA_MIN_BYTES ? base : undefined;
    const b = candidate && this.pending.get(candidate.oid);
    if (candidate && b) {
      // A chain at its depth goes on from its first version, as git too picks bases by likeness:
      // a version stored whole every MAX_DEPTH commits was most of a burst's pack bytes.
      const from = b.depth < MAX_DEPTH ? { ...candidate, depth: b.depth } : this.chainRoot(candidate.oid);
      if (from) {
        const delta = encodeDelta(from.body, body);
        if (delta.byteLength < body.byteLength / 2) o = { oid, type, base: from.oid, delta, depth: from.depth + 1 };
      }
    } else if (candidate) {
      // Whole here, but for a push to a remote that has the base, the same small delta (a thin pack):
      // otherwise every push of a burst into a folder of 10,000 sends (and deflates) it whole.
      // Its chain then starts one deep: in a push it is that delta, and the versions after it must
      // still fit in MAX_DEPTH there, or the last of every 50 went whole (a chart burst: 3 whole
      // folders of 0.4 MB in a push of 150 commits).
      const delta = encodeDelta(candidate.body, body);
      if (delta.byteLength < body.byteLength / 2) o = { ...o, thin: { base: candidate.oid, delta }, depth: 1 };
    }
    this.pending.set(oid, o);
    this.pendingBytes += entryBytes(o);
    if ('body' in o) {
      this.staged.push(...journalRecord(TYPE_CODE[type], body));
    } else {
      const head = Buffer.allocUnsafe(21);
      head[0] = TYPE_CODE[type];
      head.write(o.base, 1, 'hex');
      this.staged.push(...journalRecord(DELTA, Buffer.concat([head, o.delta])));
    }
    this.remember(o);
    return oid;
  }

  /** The whole version a pending delta chain starts from (undefined if it starts in a pack). */
  private chainRoot(oid: string): (DeltaBase & { depth: number }) | undefined {
    let e = this.pending.get(oid);
    for (let i = 0; e && 'delta' in e && i <= MAX_DEPTH; i++) e = this.pending.get(e.base);
    return e && 'body' in e ? { oid: e.oid, body: e.body, depth: e.depth } : undefined;
  }

  /** Whether oid is stored for good: waiting for the next pack, or in a pack on disk. */
  private stored(oid: string): boolean {
    if (this.pending.has(oid) || oid === EMPTY_TREE) return true;
    if (this.disk.has(oid)) return true;
    return false;
  }

  /** Whether the store keeps a reference to this very buffer as the body of oid (then it must not change). */
  holds(oid: string, body: Uint8Array): boolean {
    const p = this.pending.get(oid);
    const r = this.recent.get(oid);
    return (p !== undefined && 'body' in p && p.body === body) || (r !== undefined && 'body' in r && r.body === body) || this.chains.holds(oid, body);
  }

  /** Makes oid the branch tip: the objects written since the last call and the tip reach the journal in one write. */
  setTip(oid: string | undefined): void {
    if (oid !== undefined) this.staged.push(...journalRecord(TIP, Buffer.from(oid, 'hex')));
    // One write of the records' pieces as they are (no concatenated copy: a big folder whole is 0.4 MB).
    if (this.staged.length > 0 && this.fd !== undefined) fs.writevSync(this.fd, this.staged);
    this.staged = [];
    this.tip = oid;
  }

  getTip(): string | undefined {
    return this.tip;
  }

  /** Objects and bytes waiting for the next pack. */
  get unflushed(): { objects: number; bytes: number } {
    return { objects: this.pending.size, bytes: this.pendingBytes };
  }

  private remember(o: Entry): void {
    if (this.recent.has(o.oid)) return;
    this.recentBytes += entryBytes(o);
    if (this.recentBytes > RECENT_CAP_BYTES) {
      // A long outage: stop caching; pushes read from the packs on disk instead.
      this.recent = new Map();
      this.recentBytes = 0;
      return;
    }
    this.recent.set(o.oid, { ...o, seq: ++this.seq });
  }

  /** A mark to pass to forgetRecent() once everything written so far is pushed. */
  mark(): number {
    return this.seq;
  }

  /** After a successful push: objects written up to `mark` need not stay in memory. */
  forgetRecent(mark: number): void {
    for (const [oid, o] of this.recent) {
      if (o.seq > mark) break; // insertion order is seq order
      this.recent.delete(oid);
      this.recentBytes -= entryBytes(o);
    }
  }

  async tryRead(oid: string): Promise<StoredObject | undefined> {
    const p = this.pending.get(oid) ?? this.recent.get(oid);
    if (p) return 'body' in p ? p : { type: p.type, body: this.chains.body(oid) };
    if (oid === EMPTY_TREE) return { type: 'tree', body: new Uint8Array(0) };
    const packed = this.disk.readPacked(oid);
    if (packed) return packed;
    // Packs that appeared since we last looked (a fetch), then a loose object (the git CLI).
    if (await this.disk.refresh()) {
      const again = this.disk.readPacked(oid);
      if (again) return again;
    }
    return this.disk.readLoose(oid);
  }

  /**
   * The objects as pack entries, in order: a delta stays one when its base comes earlier in the
   * list, otherwise the object goes whole (a pack holds its own bases) — unless `remoteHas` says the
   * remote holds the base: then it is a delta of it, for a thin pack that only a push may send.
   */
  async packObjects(oids: Iterable<string>, remoteHas?: (oid: string) => boolean): Promise<(PackObject | DeltaObject)[]> {
    const out: (PackObject | DeltaObject)[] = [];
    const list = [...oids];
    const listed = remoteHas ? new Set(list) : undefined;
    const placed = new Set<string>();
    // The depth of each delta in this pack: joining chains (a thin delta of a version placed earlier)
    // must not make one longer than MAX_DEPTH, which every reader of the pack would walk.
    const depths = new Map<string, number>();
    const usable = (oid: string, base: string): boolean => {
      // A base the remote has but that this pack also sends, later (a folder back to an earlier
      // version): not before it is placed, or the pack's reader meets the delta before its base.
      if (!placed.has(base) && !(remoteHas?.(base) && !listed?.has(base))) return false;
      const depth = (depths.get(base) ?? 0) + 1;
      if (depth > MAX_DEPTH) return false;
      depths.set(oid, depth);
      return true;
    };
    for (const oid of list) {
      const e = this.pending.get(oid) ?? this.recent.get(oid);
      if (e && 'delta' in e && usable(oid, e.base)) out.push({ oid, type: e.type, base: e.base, delta: e.delta });
      else if (e?.thin && usable(oid, e.thin.base)) out.push({ oid, type: e.type, base: e.thin.base, delta: e.thin.delta });
      else if (e) out.push({ oid, type: e.type, body: this.chains.body(oid) });
      else {
        const o = await this.read(oid);
        out.push({ oid, type: o.type, body: o.body });
      }
      placed.add(oid);
    }
    return out;
  }

  /** The object's pack entry as stored on disk, when it is a plain (non-delta) packed entry. */
  rawEntry(oid: string): Buffer | undefined {
    return this.disk.rawEntry(oid);
  }

  get packCount(): number {
    return this.disk.packCount;
  }

  /** Opens packs added to the folder (a fetch) and drops removed ones; true if anything changed. */
  refreshPacks(): Promise<boolean> {
    return this.disk.refresh();
  }

  async read(oid: string, expected?: ObjectType): Promise<StoredObject> {
    const o = await this.tryRead(oid);
    if (!o) throw new KubescribeError('KUBESCRIBE_ERR_GIT_STORE_CORRUPT', `git object ${oid} is missing from ${this.dir}`);
    if (expected && o.type !== expected) throw new Error(`git object ${oid} is a ${o.type}, expected a ${expected}`);
    return o;
  }

  /** Writes pending objects as one pack, then moves the branch ref, then empties the journal. */
  async flush(): Promise<void> {
    if (this.staged.length > 0) this.setTip(this.tip);
    if (this.pending.size > 0) {
      const { name, bytes } = await writePack(join(this.dir, 'objects', 'pack'), await this.packObjects(this.pending.keys()));
      await this.disk.add(name);
      this.packedBytes += bytes;
      this.pending.clear();
      this.pendingBytes = 0;
    }
    if (this.tip !== this.tipOnDisk) {
      if (this.tip) await git.writeRef({ fs, gitdir: this.dir, ref: `refs/heads/${this.branch}`, value: this.tip, force: true });
      this.tipOnDisk = this.tip;
    }
    if (this.fd !== undefined) fs.ftruncateSync(this.fd, 0);
  }

  /** After packs were removed: forget them here and in isomorphic-git's cache. */
  async resetCache(): Promise<void> {
    this.cache = {};
    await this.refreshPacks();
  }

  async close(): Promise<void> {
    if (this.fd !== undefined) await this.flush();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.disk.close();
  }
}
