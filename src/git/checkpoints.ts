// How far each (base folder, resource type) of a branch is recorded: the resourceVersion of the
// last change or reconcile committed for it, kept in `.kubescribe/checkpoints.json` in the branch
// itself (so it is exactly as durable as the commits, and travels with replays and failovers).
// A new leader or a restarted replica lists each type AT its checkpoint and watches from there, so
// changes made while nobody recorded are replayed one by one (with their authors, whose
// correlations every replica kept) instead of being folded into a reconcile; anything at or below
// a checkpoint is not committed again.
import type { FileChange } from './types.ts';

export const CHECKPOINT_PATH = '.kubescribe/checkpoints.json';

/** Compares resourceVersions when both are etcd revisions (decimal); undefined when they cannot be compared. */
export function compareRv(a: string, b: string): number | undefined {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return undefined;
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export class Checkpoints {
  private readonly map = new Map<string, string>();

  static async load(read: (path: string) => Promise<string | undefined>): Promise<Checkpoints> {
    const c = new Checkpoints();
    const text = await read(CHECKPOINT_PATH).catch(() => undefined);
    if (text) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) if (typeof v === 'string') c.map.set(k, v);
      } catch { /* unreadable: start without checkpoints (a reconcile then catches up) */ }
    }
    return c;
  }

  static key(baseFolder: string, typeKey: string): string {
    return `${baseFolder}|${typeKey}`;
  }

  get(key: string): string | undefined {
    return this.map.get(key);
  }

  /** True when `rv` is at or below the checkpoint: already in the branch. */
  covers(key: string, rv: string): boolean {
    const cp = this.map.get(key);
    return cp !== undefined && (compareRv(rv, cp) ?? 1) <= 0;
  }

  /** The map with `key` moved forward to `rv` (never backwards). */
  advanced(key: string, rv: string): Map<string, string> {
    const next = new Map(this.map);
    const cp = next.get(key);
    if (rv && (cp === undefined || (compareRv(rv, cp) ?? 1) > 0)) next.set(key, rv);
    return next;
  }

  set(next: Map<string, string>): void {
    this.map.clear();
    for (const [k, v] of next) this.map.set(k, v);
  }

  static file(map: Map<string, string>): FileChange {
    const sorted = Object.fromEntries([...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    return { path: CHECKPOINT_PATH, content: `${JSON.stringify(sorted, null, 2)}\n` };
  }
}
