import { describe, expect, it } from 'vitest';
import { openLoop } from './open-loop.ts';

/** A clock that moves only when the generator sleeps (or when a test moves it). */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; advance: (ms: number) => void } {
  let t = 1000;
  return { now: () => t, sleep: async (ms) => { t += ms; }, advance: (ms) => { t += ms; } };
}

describe('openLoop', () => {
  it('sends rate × seconds requests, each at its slot, without waiting for earlier answers', async () => {
    const clock = fakeClock();
    const answers: Array<() => void> = [];
    const run = openLoop({ rate: 100, seconds: 0.1, now: clock.now, sleep: clock.sleep, send: (k) => new Promise<number>((resolve) => answers.push(() => resolve(k * 2))) });
    // No answer has come yet, and still all ten left (an open loop).
    for (let i = 0; i < 50 && answers.length < 10; i++) await Promise.resolve();
    expect(answers).toHaveLength(10);
    answers.forEach((a) => a());
    const { shots, late } = await run;
    expect(shots.map((s) => s.due - 1000)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(shots.every((s) => s.sentAt >= s.due && s.sentAt - s.due < 5)).toBe(true);
    expect(shots.map((s) => s.result)).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
    expect(late).toBe(0);
  });

  it('keeps failures as errors and counts shots that left more than 50 ms after their slot', async () => {
    const clock = fakeClock();
    const { shots, late } = await openLoop({
      rate: 10, seconds: 0.5, now: clock.now, sleep: clock.sleep,
      send: async (k) => {
        if (k === 1) clock.advance(300); // the generator stalls: shots 2 and 3 (due at 200 and 300 ms) leave late
        if (k === 3) throw new Error('refused');
        return k;
      },
    });
    expect(shots).toHaveLength(5);
    expect(shots[3]!.error).toBe('refused');
    expect(shots[3]!.doneAt).toBeGreaterThanOrEqual(shots[3]!.sentAt);
    expect(late).toBe(2);
  });

  it('waits while maxInFlight requests are unanswered', async () => {
    const clock = fakeClock();
    let open = 0;
    let most = 0;
    const { shots, late } = await openLoop({
      rate: 1000, seconds: 0.01, maxInFlight: 2, now: clock.now,
      sleep: async (ms) => { clock.advance(ms); await new Promise((r) => setImmediate(r)); },
      send: async () => {
        most = Math.max(most, ++open);
        await new Promise((r) => setTimeout(r, 1));
        open--;
      },
    });
    expect(shots).toHaveLength(10);
    expect(most).toBe(2);
    expect(late).toBeGreaterThan(0); // held back beyond their slots
    expect(shots.every((s) => s.doneAt >= s.sentAt)).toBe(true);
  });
});
