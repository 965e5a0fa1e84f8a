import { describe, expect, it } from 'vitest';
import { batchLookups } from './batch-lookups.ts';

describe('batchLookups', () => {
  it('one lookup at a time; keys asked meanwhile go together in the next, and each caller waits for its own', async () => {
    const calls: Array<{ keys: string[]; end: () => void }> = [];
    const ask = batchLookups((keys) => new Promise<void>((end) => calls.push({ keys, end })));
    let firstDone = false;
    let laterDone = false;
    const first = ask(['a']).then(() => { firstDone = true; });
    const b = ask(['b', 'c']).then(() => { laterDone = true; });
    const c = ask(['c', 'd']);
    expect(calls.map((x) => x.keys)).toEqual([['a']]);
    calls[0]!.end();
    await first;
    expect([firstDone, laterDone]).toEqual([true, false]);
    expect(calls.map((x) => x.keys)).toEqual([['a'], ['b', 'c', 'd']]);
    calls[1]!.end();
    await Promise.all([b, c]);
    expect(laterDone).toBe(true);
    const alone = ask(['e']); // nothing running: at once
    expect(calls).toHaveLength(3);
    calls[2]!.end();
    await alone;
  });

  it('a failed lookup still releases its callers and does not stop the next', async () => {
    let n = 0;
    const ask = batchLookups(async () => { n++; if (n === 1) throw new Error('peer down'); });
    await expect(Promise.all([ask(['a']), ask(['b'])])).resolves.toEqual([undefined, undefined]);
    expect(n).toBe(2);
  });
});
