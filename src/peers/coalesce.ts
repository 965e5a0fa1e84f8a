// One run at a time of an async task that many callers ask for (the leader's pull of its peers
// after a correlation miss: a burst of misses must not become a burst of pulls). A caller that
// arrives while a run is going waits for the next run, which starts after it ends: the run in
// progress may have left before what the caller is missing arrived. At most one run is queued.
export function coalesce(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    running = task().finally(() => { running = undefined; });
    return running;
  };
  return () => {
    if (!running) return start();
    next ??= running.catch(() => undefined).then(() => {
      next = undefined;
      return start();
    });
    return next;
  };
}
