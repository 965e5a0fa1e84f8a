import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.ts';

describe('bounded queue', () => {
  it('keeps order and makes producers wait while full (back-pressure, nothing dropped)', async () => {
    const q = new BoundedQueue<number>(3);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await q.push(i);
        pushed++;
      }
      q.close();
    })();
    await new Promise((r) => setTimeout(r, 20));
    expect(pushed).toBe(3); // the fourth push waits
    const got: number[] = [];
    for await (const item of q.drain()) got.push(item);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('reports its depth and refuses pushes after close', async () => {
    const depths: number[] = [];
    const q = new BoundedQueue<string>(10, (d) => depths.push(d));
    await q.push('a');
    await q.push('b');
    expect(q.depth).toBe(2);
    q.close();
    await expect(q.push('c')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_QUEUE_CLOSED' });
    const rest: string[] = [];
    for await (const x of q.drain()) rest.push(x);
    expect(rest).toEqual(['a', 'b']);
    expect(depths).toEqual([1, 2, 1, 0]);
  });
});
