// An open-loop load generator: request k leaves at t0 + k/rate whatever happened to the earlier
// ones. A closed loop (send, wait, send) slows down with the server and so hides the very latency
// it should measure (coordinated omission). Each shot keeps when it was due, sent and answered;
// `late` counts shots that left more than 50 ms after their slot (the generator could not keep up,
// or maxInFlight was reached), so a figure can say when it is not a true open loop.
export interface Shot<T> { k: number; due: number; sentAt: number; doneAt: number; result?: T; error?: string }

export interface OpenLoopOptions<T> {
  rate: number;
  seconds: number;
  send: (k: number) => Promise<T>;
  /** Requests in flight at most; the next one waits (and may count as late). Default 4096. */
  maxInFlight?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realNow = (): number => performance.timeOrigin + performance.now();
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function openLoop<T>(o: OpenLoopOptions<T>): Promise<{ shots: Array<Shot<T>>; late: number }> {
  const now = o.now ?? realNow;
  const sleep = o.sleep ?? realSleep;
  const maxInFlight = o.maxInFlight ?? 4096;
  const total = Math.round(o.rate * o.seconds);
  const shots: Array<Shot<T>> = [];
  const pending: Array<Promise<void>> = [];
  const t0 = now();
  let inFlight = 0;
  let late = 0;
  for (let k = 0; k < total; k++) {
    const due = t0 + (k * 1000) / o.rate;
    let wait = due - now();
    while (wait > 0 || inFlight >= maxInFlight) {
      await sleep(Math.max(1, Math.min(wait, 5)));
      wait = due - now();
    }
    if (-wait > 50) late++;
    const shot: Shot<T> = { k, due, sentAt: now(), doneAt: 0 };
    shots.push(shot);
    inFlight++;
    pending.push(o.send(k).then(
      (result) => { shot.result = result; },
      (err: unknown) => { shot.error = err instanceof Error ? err.message : String(err); },
    ).finally(() => { shot.doneAt = now(); inFlight--; }));
  }
  await Promise.all(pending);
  return { shots, late };
}
