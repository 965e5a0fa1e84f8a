// The branch tip's tree, held in memory as nested folders. A commit changes a few files: only
// the folders on those paths are marked dirty and written again (a 10,000-file repository still
// writes ~5 small trees a commit). `files` answers path → blob id for resync comparisons by
// walking the folders: a flat map beside them held every path a second time (13 MiB at 100,000
// objects: the paths, their map, and the names cut out of them kept each path alive). Each
// folder keeps its entries in git's order (a create or delete is one insertion or removal, no
// sort). A big folder (see DELTA_MIN_BYTES) also keeps its last serialized bytes and where each
// entry sits in them: its next version is made of runs of those bytes copied as they are, the new
// entries written between them and the changed ids written in — a loop of additions over the
// entries and a few copies, instead of 10,000 names and ids encoded again. In a burst of creates
// into one folder of 10,000, encoding the whole folder again took over half of kubescribe's CPU
// (issue 19, burst drain). The new version is written into the buffer of the version before last
// when it is ours and big enough (buffers get a little room to grow): such a burst then allocates
// nothing per commit instead of ~400 KB each, which kept tens of MiB of dead Buffers waiting for
// the GC (issue 19, burst memory).
import { KubescribeError } from '../errors.ts';
import { compareTreeNames, decodeTree, EMPTY_TREE, FILE_MODE, TREE_MODE } from './object-format.ts';
import { DELTA_MIN_BYTES, type DeltaBase, type ObjectStore } from './object-store.ts';

/** A file set to a blob, or deleted (oid null). */
export interface BlobChange { path: string; oid: string | null }

interface Item {
  name: string;
  mode: string;
  oid: string;
  dir?: Folder;
  /**
   * `<mode> <name>\0` and its length in bytes. A string, not a Buffer: small Buffers are slices
   * of shared 8 KiB slabs, and one kept entry keeps its whole slab alive (10,000 entries created
   * over a burst held 39 MiB of slabs for ~300 KB of headers). Only the length is kept in a
   * laid-out folder, whose entries are copied from its last bytes.
   */
  head?: string;
  headBytes?: number;
  /**
   * Where the id sits in the folder's `base` bytes when the folder is `laidOut`; undefined for an
   * entry added (or whose mode changed) since, and for a removed one.
   */
  at?: number;
}
interface Folder {
  entries: Map<string, Item>;
  oid: string | undefined;
  /** The entries in git's order (undefined: not sorted yet). */
  sorted: Item[] | undefined;
  /** The last version written or loaded, when big enough to store the next one as a delta. */
  base?: DeltaBase;
  /** `base.body` was made here and the store keeps no reference to it (it kept a delta). */
  baseOwned?: boolean;
  /**
   * The buffer of the version before `base` (its whole allocation), free to write the next version
   * into: a folder of 10,000 entries is ~0.4 MB, and a new one per commit is garbage the GC has to
   * chase (CPU for a minute of 100 changes/s into such a folder: 22.4 → 16.3 s).
   */
  spare?: Buffer;
  /** Entries whose id changed since `base` was written. */
  changed?: Item[];
  /** `base` is this folder's last version and every entry it holds knows where it sits there (`at`). */
  laidOut?: boolean;
}

const BLOB_MODES = new Set(['100644', '100755', '120000']);
const NO_BYTES = new Uint8Array(0);

function emptyFolder(): Folder {
  return { entries: new Map(), oid: undefined, sorted: undefined };
}

/** Room to grow given to a big folder's buffer: creates then write into it for a while. */
const SLACK = 1 / 16;

/** `size` bytes for a new version of the folder: its spare buffer when big enough, else a new one. */
function bodyBuffer(folder: Folder, size: number): Buffer {
  const spare = folder.spare;
  folder.spare = undefined;
  if (spare && spare.byteLength >= size) return spare.subarray(0, size);
  if (size < DELTA_MIN_BYTES) return Buffer.allocUnsafe(size);
  // Its own allocation (not the pool), so that the whole of it can be reused as a spare later.
  return Buffer.allocUnsafeSlow(size + Math.ceil(size * SLACK)).subarray(0, size);
}

/** Where `name` is or would go in a folder's sorted names (git's order: a folder sorts as `name/`). */
function sortedIndex(sorted: readonly Item[], name: string, isTree: boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const other = sorted[mid]!;
    if (compareTreeNames(other.name, other.mode === TREE_MODE, name, isTree) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds a new entry to the folder, in its place in git's order. */
function insertItem(folder: Folder, item: Item): void {
  folder.entries.set(item.name, item);
  if (folder.sorted) folder.sorted.splice(sortedIndex(folder.sorted, item.name, item.mode === TREE_MODE), 0, item);
}

function removeItem(folder: Folder, name: string): void {
  const item = folder.entries.get(name);
  if (!item) return;
  folder.entries.delete(name);
  item.at = undefined; // no longer in the folder: its id is not written in (it may sit in `changed`)
  const sorted = folder.sorted;
  if (!sorted) return;
  const at = sortedIndex(sorted, name, item.mode === TREE_MODE);
  if (sorted[at] === item) sorted.splice(at, 1);
  else folder.sorted = undefined; // not where it should be: sort again
}

/** Path → blob id: what the recorder asks of a branch's files (a Map answers it too). */
export interface FileLookup {
  get(path: string): string | undefined;
  has(path: string): boolean;
  keys(): Iterable<string>;
}

/** The files of a tree (blobs, executables and symlinks) by path, read from its folders. */
export interface TreeFiles extends FileLookup, Iterable<[string, string]> {
  count(): number;
}

/**
 * A name cut out of a longer string (split, slice) of 13 characters or more is, in V8, a slice
 * that keeps the whole string alive: an entry kept for the life of the tree gets its own copy.
 */
function ownName(name: string): string {
  return name.length < 13 ? name : Buffer.from(name, 'utf8').toString('utf8');
}

export class TreeIndex {
  private fileCount = 0;

  readonly files: TreeFiles = {
    get: (path) => this.fileAt(path)?.oid,
    has: (path) => this.fileAt(path) !== undefined,
    keys: () => this.paths(),
    count: () => this.fileCount,
    [Symbol.iterator]: () => this.walk(this.root, ''),
  };

  private constructor(private root: Folder) {}

  /** Loads the whole tree (undefined = an empty branch). */
  static async load(store: ObjectStore, treeOid: string | undefined): Promise<TreeIndex> {
    const index = new TreeIndex(emptyFolder());
    if (treeOid && treeOid !== EMPTY_TREE) index.root = await index.loadFolder(store, treeOid);
    else index.root.oid = EMPTY_TREE;
    return index;
  }

  private async loadFolder(store: ObjectStore, oid: string): Promise<Folder> {
    const { body } = await store.read(oid, 'tree');
    const folder: Folder = { entries: new Map(), oid, sorted: [], base: body.byteLength >= DELTA_MIN_BYTES ? { oid, body } : undefined };
    const subs: Promise<void>[] = [];
    for (const e of decodeTree(body)) {
      const item: Item = { name: e.name, mode: e.mode, oid: e.oid };
      folder.entries.set(e.name, item);
      folder.sorted!.push(item);
      if (e.mode === TREE_MODE) {
        subs.push(this.loadFolder(store, e.oid).then((d) => { item.dir = d; }));
      } else if (BLOB_MODES.has(e.mode)) {
        this.fileCount++;
      }
    }
    await Promise.all(subs);
    return folder;
  }

  /**
   * Applies changes (last one wins per path) and returns those that change something. Throws
   * KUBESCRIBE_ERR_GIT_PATH_UNSAFE, before touching anything, if a path needs a folder where a
   * file is or the other way round.
   */
  apply(changes: readonly BlobChange[]): BlobChange[] {
    const last = new Map<string, string | null>();
    for (const c of changes) last.set(c.path, c.oid);
    const effective: BlobChange[] = [];
    for (const [path, oid] of last) {
      if (oid === null ? this.files.has(path) : this.files.get(path) !== oid) effective.push({ path, oid });
    }
    for (const c of effective) if (c.oid !== null) this.checkShape(c.path);
    for (const c of effective) {
      if (c.oid === null) this.remove(c.path);
      else this.set(c.path, c.oid);
    }
    return effective;
  }

  private checkShape(path: string): void {
    const segs = path.split('/');
    let folder: Folder | undefined = this.root;
    for (let i = 0; i < segs.length && folder; i++) {
      const item = folder.entries.get(segs[i]!);
      const isLast = i === segs.length - 1;
      if (!item) return;
      if (isLast ? item.mode === TREE_MODE : item.mode !== TREE_MODE) {
        throw new KubescribeError('KUBESCRIBE_ERR_GIT_PATH_UNSAFE', `path ${JSON.stringify(path)} conflicts with an existing ${isLast ? 'folder' : 'file'} at ${segs.slice(0, i + 1).join('/')}`);
      }
      folder = item.dir;
    }
  }

  private set(path: string, oid: string): void {
    const segs = path.split('/');
    let folder = this.root;
    folder.oid = undefined;
    for (let i = 0; i < segs.length - 1; i++) {
      const name = segs[i]!;
      let item = folder.entries.get(name);
      if (!item) {
        item = { name: ownName(name), mode: TREE_MODE, oid: '', dir: emptyFolder() };
        insertItem(folder, item);
      } else {
        (folder.changed ??= []).push(item);
      }
      folder = item.dir!;
      folder.oid = undefined;
    }
    const name = segs[segs.length - 1]!;
    const item = folder.entries.get(name);
    if (item) {
      item.oid = oid;
      if (!BLOB_MODES.has(item.mode)) this.fileCount++; // a submodule becomes a file
      if (item.mode !== FILE_MODE) { item.mode = FILE_MODE; item.head = undefined; item.headBytes = undefined; item.at = undefined; }
      (folder.changed ??= []).push(item);
    } else {
      insertItem(folder, { name: ownName(name), mode: FILE_MODE, oid });
      this.fileCount++;
    }
  }

  private remove(path: string): void {
    const segs = path.split('/');
    const chain: Folder[] = [this.root];
    for (let i = 0; i < segs.length - 1; i++) {
      const next = chain[i]!.entries.get(segs[i]!)?.dir;
      if (!next) return;
      chain.push(next);
    }
    const leaf = chain[chain.length - 1]!.entries.get(segs[segs.length - 1]!);
    if (!leaf || !BLOB_MODES.has(leaf.mode)) return; // no such file: nothing changes, the count stays
    for (const [i, f] of chain.entries()) {
      f.oid = undefined;
      const sub = i < chain.length - 1 ? f.entries.get(segs[i]!) : undefined;
      if (sub) (f.changed ??= []).push(sub);
    }
    for (let i = chain.length - 1; i >= 0; i--) {
      const f = chain[i]!;
      removeItem(f, segs[i]!);
      if (f.entries.size > 0 || i === 0) break; // git keeps no empty folders
    }
    this.fileCount--;
  }

  /** The file at `path` (not a folder, not a submodule), if there is one. */
  private fileAt(path: string): Item | undefined {
    let folder: Folder | undefined = this.root;
    let from = 0;
    for (;;) {
      const slash = path.indexOf('/', from);
      const item: Item | undefined = folder.entries.get(slash < 0 ? path.slice(from) : path.slice(from, slash));
      if (slash < 0) return item && BLOB_MODES.has(item.mode) ? item : undefined;
      folder = item?.dir;
      if (!folder) return undefined;
      from = slash + 1;
    }
  }

  /** Every file's path and blob id, folder by folder. */
  private *walk(folder: Folder, prefix: string): Generator<[string, string]> {
    for (const item of folder.entries.values()) {
      if (item.dir) yield* this.walk(item.dir, `${prefix}${item.name}/`);
      else if (BLOB_MODES.has(item.mode)) yield [prefix + item.name, item.oid];
    }
  }

  private *paths(): Generator<string> {
    for (const [path] of this.walk(this.root, '')) yield path;
  }

  /** Writes every dirty folder (children first) and returns the root tree id; `written` collects the folders' ids. */
  /**
   * The bytes this index keeps of its big folders' current versions, by id: compaction takes them
   * from here instead of reading them back through a pack's delta chain (up to 50 bodies of 0.4 MB
   * made and dropped for one folder of 10,000).
   */
  keptBodies(): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    const visit = (folder: Folder): void => {
      if (folder.base && folder.base.oid === folder.oid) out.set(folder.oid, folder.base.body);
      for (const item of folder.sorted ?? folder.entries.values()) if (item.dir) visit(item.dir);
    };
    visit(this.root);
    return out;
  }

  write(store: ObjectStore, written?: string[]): string {
    return this.writeFolder(store, this.root, written);
  }

  private writeFolder(store: ObjectStore, folder: Folder, written: string[] | undefined): string {
    if (folder.oid !== undefined) return folder.oid;
    const changed = folder.changed;
    folder.changed = undefined;
    const laidOut = folder.laidOut && folder.sorted && folder.base;
    const body = this.laidOutBody(store, folder, laidOut ? folder.base!.body : this.unlaid(folder), changed, written);
    folder.oid = store.write('tree', body, undefined, folder.base);
    const previous = folder.baseOwned ? folder.base?.body : undefined;
    folder.base = body.length >= DELTA_MIN_BYTES ? { oid: folder.oid, body } : undefined;
    folder.laidOut = folder.base !== undefined;
    folder.baseOwned = folder.base !== undefined && !store.holds(folder.oid, body);
    // The whole allocation of the version before: bodies made here start at its offset 0.
    folder.spare = folder.base && previous instanceof Buffer && previous.byteOffset === 0 && previous.buffer !== body.buffer ? Buffer.from(previous.buffer) : undefined;
    written?.push(folder.oid);
    return folder.oid;
  }

  /** A folder whose last bytes are not reused: sorted, every entry to be encoded. Its base: none. */
  private unlaid(folder: Folder): Uint8Array {
    if (!folder.sorted) {
      folder.sorted = [...folder.entries.values()];
      folder.sorted.sort((a, b) => compareTreeNames(a.name, a.mode === TREE_MODE, b.name, b.mode === TREE_MODE));
    }
    for (const item of folder.sorted) item.at = undefined;
    return NO_BYTES;
  }

  /**
   * The folder's next version from its last one (`base`, where every entry that has an `at` sits):
   * the runs of unchanged entries copied as they are, the others encoded between them, then the
   * changed ids written in. Every entry's `at` moves to the new bytes.
   */
  private laidOutBody(store: ObjectStore, folder: Folder, base: Uint8Array, changed: readonly Item[] | undefined, written: string[] | undefined): Buffer {
    const sorted = folder.sorted!;
    let size = 0;
    for (const item of sorted) {
      if (item.at === undefined) {
        if (item.dir) item.oid = this.writeFolder(store, item.dir, written);
        if (item.head === undefined) {
          item.head = `${item.mode} ${item.name}\0`;
          item.headBytes = Buffer.byteLength(item.head, 'utf8');
        }
      }
      size += item.headBytes! + 20;
    }
    const body = bodyBuffer(folder, size);
    // In a folder laid out from here on, an entry is copied, not encoded: its header text is
    // dropped once written (its length stays, to size the next version): 4 MiB at 100,000 objects.
    const keepHeads = size < DELTA_MIN_BYTES;
    let out = 0;
    // The run of base bytes being gathered: [runFrom, runTo), to be copied to runOut.
    let runFrom = -1;
    let runTo = -1;
    let runOut = 0;
    for (const item of sorted) {
      const head = item.headBytes!;
      const at = item.at;
      if (at !== undefined) {
        const start = at - head;
        if (start !== runTo) {
          if (runFrom >= 0) body.set(base.subarray(runFrom, runTo), runOut);
          runFrom = start;
          runOut = out;
        }
        runTo = at + 20;
        item.at = out + head;
        out += head + 20;
      } else {
        if (runFrom >= 0) body.set(base.subarray(runFrom, runTo), runOut);
        runFrom = -1;
        runTo = -1;
        out += body.write(item.head!, out, 'utf8');
        if (!keepHeads) item.head = undefined;
        item.at = out;
        out += body.write(item.oid, out, 'hex');
      }
    }
    if (runFrom >= 0) body.set(base.subarray(runFrom, runTo), runOut);
    for (const item of changed ?? []) {
      if (item.at === undefined) continue; // removed since
      if (item.dir) item.oid = this.writeFolder(store, item.dir, written);
      body.write(item.oid, item.at, 'hex');
    }
    return body;
  }
}
