import { describe, expect, it } from 'vitest';
import { coalesce } from './coalesce.ts';

describe('coalesce', () => {
  it('runs once at a time; callers during a run share the one next run, which starts after it', async () => {
    const runs: Array<{ resolve: () => void; started: number }> = [];
    let clock = 0;
    const run = coalesce(() => new Promise<void>((resolve) => runs.push({ resolve, started: ++clock })));
    const first = run();
    const second = run();
    const third = run();
    expect(runs).toHaveLength(1); // the second and third wait for the first to end
    expect(second).toBe(third);
    runs[0]!.resolve();
    await first;
    await new Promise((r) => setImmediate(r));
    expect(runs).toHaveLength(2);
    runs[1]!.resolve();
    await third;
    const fourth = run(); // nothing running: starts at once
    expect(runs).toHaveLength(3);
    runs[2]!.resolve();
    await fourth;
  });

  it('a failed run does not stop the next one; its own caller sees the failure', async () => {
    let n = 0;
    const run = coalesce(async () => { n++; if (n === 1) throw new Error('peer down'); });
    const first = run();
    const second = run();
    await expect(first).rejects.toThrow('peer down');
    await expect(second).resolves.toBeUndefined();
    expect(n).toBe(2);
  });
});
