// The leader's lookups of missing correlation keys, batched: a burst of misses must not become a
// burst of requests. Keys asked for while a lookup is going wait for the next one, which starts
// after it and carries all of them; each caller resolves when the lookup with its keys ends.
export function batchLookups(lookup: (keys: string[]) => Promise<void>): (keys: readonly string[]) => Promise<void> {
  let running = false;
  let pending = new Set<string>();
  let waiters: Array<() => void> = [];
  const run = (): void => {
    if (running || pending.size === 0) return;
    running = true;
    const keys = [...pending];
    const done = waiters;
    pending = new Set();
    waiters = [];
    void lookup(keys).catch(() => undefined).finally(() => {
      running = false;
      for (const w of done) w();
      run();
    });
  };
  return (keys) => new Promise<void>((resolve) => {
    for (const k of keys) pending.add(k);
    waiters.push(resolve);
    run();
  });
}
