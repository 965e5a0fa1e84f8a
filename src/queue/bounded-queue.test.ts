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

  it('bounded by bytes too: a heavy item waits for room, in line, and one heavier than the bound passes alone', async () => {
    const depths: Array<[number, number]> = [];
    const q = new BoundedQueue<string>(100, (d, b) => depths.push([d, b]), { maxBytes: 10, sizeOf: (s) => s.length });
    await q.push('aaaa');
    await q.push('bbbb');
    const order: string[] = [];
    const heavy = q.push('cccccc').then(() => order.push('cccccc')); // 4 + 4 + 6 > 10: waits
    const light = q.push('d').then(() => order.push('d')); // would fit, but does not overtake
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    expect([q.depth, q.bytes, q.full(2), q.full(3)]).toEqual([2, 8, false, true]); // d waits only because it is in line
    const it = q.drain();
    expect((await it.next()).value).toBe('aaaa'); // 4 + 6 = 10 fits, then 10 + 1 does not
    await heavy;
    expect([q.depth, q.bytes, order]).toEqual([2, 10, ['cccccc']]);
    expect((await it.next()).value).toBe('bbbb');
    await light;
    expect(order).toEqual(['cccccc', 'd']);
    const big = new BoundedQueue<string>(100, undefined, { maxBytes: 10, sizeOf: (s) => s.length });
    await big.push('x'.repeat(50)); // alone, over the bound: let in, or it could never pass
    expect(big.full(1)).toBe(true);
    q.close();
    big.close();
    await expect(q.push('late')).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_QUEUE_CLOSED' });
    expect(depths.slice(0, 2)).toEqual([[1, 4], [2, 8]]);
  });

  it('close() refuses the pushers still waiting', async () => {
    const q = new BoundedQueue<number>(1);
    await q.push(1);
    const waiting = q.push(2);
    q.close();
    await expect(waiting).rejects.toMatchObject({ code: 'KUBESCRIBE_ERR_QUEUE_CLOSED' });
  });
});
