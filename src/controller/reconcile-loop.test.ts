import { describe, expect, it } from 'vitest';
import { ReconcileLoop } from './reconcile-loop.ts';

/** A reconcile that records when it runs and can be held open by the test. */
function probe() {
  let inFlight = 0;
  let maxInFlight = 0;
  const calls: number[] = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  return {
    calls, get maxInFlight() { return maxInFlight; },
    hold() { gate = new Promise((r) => { release = r; }); },
    release() { release?.(); gate = undefined; },
    async reconcile() {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      calls.push(Date.now());
      await gate;
      inFlight--;
    },
  };
}

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

/** A loop whose first run has started and is held open until p.release(). */
async function runHeldOpen() {
  const p = probe();
  const loop = new ReconcileLoop({ reconcile: () => p.reconcile(), debounceMs: 1, onError: () => undefined });
  p.hold();
  loop.request(0);
  await until(() => p.calls.length === 1);
  return { p, loop };
}

describe('ReconcileLoop', () => {
  it('collapses a burst of requests into one run', async () => {
    const p = probe();
    const loop = new ReconcileLoop({ reconcile: () => p.reconcile(), debounceMs: 20, onError: () => undefined });
    for (let i = 0; i < 10; i++) loop.request();
    await loop.idle();
    expect(p.calls).toHaveLength(1);
  });

  it('answers requests made during a run with exactly one more run, never two at once', async () => {
    const { p, loop } = await runHeldOpen();
    // Configuration changes arrive while the first run is held open.
    loop.request(0);
    await new Promise((r) => setTimeout(r, 10));
    loop.request(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(p.calls).toHaveLength(1);
    p.release();
    await loop.idle();
    expect(p.calls).toHaveLength(2);
    expect(p.maxInFlight).toBe(1);
  });

  it('keeps going after a failed run and reports the error', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const loop = new ReconcileLoop({ reconcile: async () => { if (n++ === 0) throw new Error('boom'); }, debounceMs: 1, onError: (e) => errors.push(e) });
    loop.request(0);
    await loop.idle();
    loop.request(0);
    await loop.idle();
    expect(n).toBe(2);
    expect(errors).toHaveLength(1);
    expect(loop.runs).toBe(2);
  });

  it('runs nothing after stop, and stop waits for the run under way', async () => {
    const { p, loop } = await runHeldOpen();
    loop.request(0);
    let stopped = false;
    const stopping = loop.stop().then(() => { stopped = true; });
    await new Promise((r) => setTimeout(r, 10));
    expect(stopped).toBe(false);
    p.release();
    await stopping;
    loop.request(0);
    await new Promise((r) => setTimeout(r, 10));
    expect(p.calls).toHaveLength(1);
  });
});
