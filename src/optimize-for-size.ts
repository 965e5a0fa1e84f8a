// V8's --optimize-for-size, switched from inside the process: the image, `npm start`, the local
// stack and a user's own `node dist/kubescribe.mjs` all get it, and NODE_OPTIONS refuses the flag.
// V8 consults it while it runs (set after the start it cut the main heap as much as from the
// start): the heap grows by little between full collections and Buffers held only by garbage are
// freed sooner. A burst of 10,000 creates peaked at 140–150 MiB with it, 189–204 MiB without
// (bench/burst-memory.ts, 4 runs each). Its costs:
// - a snapshot, which grows the live heap (likely a full collection at each small step of
//   growth), took 2.5× git fast-import against 1.9× at 10,000 objects. So the heap favours speed
//   while something holds it: a controller from its start until its first sync is done and its
//   large snapshot pushed, a later large snapshot until it is pushed, and a backlog of 1,000+
//   changes until it is down to 100 (replaying 4,800 changes for size cost 1.5× the CPU per
//   commit; with the hold 1.09×);
// - the webhook's thread, if created while the flag is on, gets a smaller young generation and a
//   review costs ~20% more CPU; main.ts switches the flag on after the thread has started (a
//   review then costs ~7% more: the flag is the process's).
// docs/benchmarks.md, "optimize-for-size", has the measures.
import { setFlagsFromString } from 'node:v8';

let enabled = false;
let holds = 0;
let applied: boolean | undefined;

function apply(): void {
  const size = enabled && holds === 0;
  if (size === applied) return;
  applied = size;
  setFlagsFromString(size ? '--optimize-for-size' : '--no-optimize-for-size');
}

/** Favour size from now on, except while a speed hold is taken (memory.optimizeForSize). */
export function optimizeForSize(on: boolean): void {
  enabled = on;
  apply();
}

/** Favours speed until the returned release is called (once; later calls do nothing). */
export function holdSpeed(): () => void {
  holds++;
  apply();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holds--;
    apply();
  };
}

/** Whether V8 favours size now (for tests and metrics). */
export function favoursSize(): boolean {
  return applied === true;
}
