// The worker thread behind git-probe.ts: a tight loop (1 ms) that watches, from the Git side,
//   - kubescribe's journal (<data dir>/repos/.../kubescribe.journal): every commit is appended there
//     the moment GitWriter.commit() makes it (object-store.ts: records [kind u8][length u32 BE]
//     [payload], kind 1 = commit, 9 = new tip; the file is emptied when a push packs it);
//   - the remote bare repository's branch ref (refs/heads/<branch>), moved by each push.
// It posts {kind:'local', at, rv, op, user} per commit and {kind:'pushed', at, sha} per ref move;
// `at` is epoch milliseconds with sub-millisecond precision, comparable across threads.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { findJournal } from './journal-path.ts';

/** `journal`: the file, or `dataDir`: kubescribe's data dir, searched until the writer creates it. */
export interface ProbeConfig { journal?: string; dataDir?: string; remoteRef: string; stopFlag: SharedArrayBuffer }
export type ProbeEvent =
  | { kind: 'ready' }
  | { kind: 'local'; at: number; rv: string; op: string; user: string; object: string }
  | { kind: 'pushed'; at: number; sha: string }
  | { kind: 'error'; message: string };

const cfg = (workerData ?? {}) as ProbeConfig;
const stop = new Int32Array(cfg.stopFlag);
const now = (): number => performance.timeOrigin + performance.now();
const post = (e: ProbeEvent): void => parentPort!.postMessage(e);

let fd: number | undefined;
let offset = 0;
let pending = Buffer.alloc(0);
let commits: Array<{ rv: string; op: string; user: string; object: string }> = [];
let lastRef = '';
const chunk = Buffer.allocUnsafe(1 << 20);

const trailer = (msg: string, key: string): string => new RegExp(`^${key}: (.*)$`, 'm').exec(msg)?.[1] ?? '';

let journal = cfg.journal;

function readJournal(): void {
  if (fd === undefined) {
    journal ??= cfg.dataDir ? findJournal(cfg.dataDir) : undefined;
    if (!journal) return;
    try { fd = openSync(journal, 'r'); } catch { return; }
  }
  const size = fstatSync(fd).size;
  if (size < offset) { // emptied by a push: start over
    offset = 0;
    pending = Buffer.alloc(0);
  }
  while (offset < size) {
    const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset);
    if (n <= 0) break;
    offset += n;
    pending = Buffer.concat([pending, chunk.subarray(0, n)]);
  }
  const at = now();
  let p = 0;
  while (p + 5 <= pending.length) {
    const kind = pending.readUInt8(p);
    const len = pending.readUInt32BE(p + 1);
    if (p + 5 + len > pending.length) break;
    if (kind === 1) {
      const body = pending.subarray(p + 5, p + 5 + len).toString('utf8');
      const msg = body.slice(body.indexOf('\n\n') + 2);
      commits.push({ rv: trailer(msg, 'Kubescribe-Resource-Version'), op: trailer(msg, 'Kubescribe-Operation'), user: trailer(msg, 'Kubescribe-User'), object: trailer(msg, 'Kubescribe-Object') });
    } else if (kind === 9) {
      for (const c of commits) post({ kind: 'local', at, ...c });
      commits = [];
    } else if (kind < 1 || kind > 5) { // 1-4: whole objects, 5: a delta (trees of big folders)
      post({ kind: 'error', message: `unknown journal record kind ${kind} at ${offset - pending.length + p}: has the journal format changed?` });
      pending = Buffer.alloc(0);
      return;
    }
    p += 5 + len;
  }
  pending = pending.subarray(p);
}

function readRemote(): void {
  let sha = '';
  try { sha = readFileSync(cfg.remoteRef, 'utf8').trim(); } catch { return; }
  if (sha !== lastRef && /^[0-9a-f]{40}$/.test(sha)) {
    lastRef = sha;
    post({ kind: 'pushed', at: now(), sha });
  }
}

post({ kind: 'ready' });
while (Atomics.load(stop, 0) === 0) {
  try {
    readJournal();
    readRemote();
  } catch (err) {
    post({ kind: 'error', message: (err as Error).message });
  }
  Atomics.wait(stop, 0, 0, 1);
}
if (fd !== undefined) closeSync(fd);
