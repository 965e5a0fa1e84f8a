import { describe, expect, it } from 'vitest';
import { ChangeLog } from './change-log.ts';

const values = (log: ChangeLog, epoch: string | undefined, after: number, limit = 100) => log.since(epoch, after, limit, (k) => k.toUpperCase());

describe('ChangeLog', () => {
  it('hands out the keys changed after a cursor, oldest change first, a key once at its latest change', () => {
    const log = new ChangeLog();
    for (const k of ['a', 'b', 'c']) log.changed(k);
    const first = values(log, undefined, 0);
    expect(first).toEqual({ epoch: log.epoch, next: 3, more: false, entries: [['a', 'A'], ['b', 'B'], ['c', 'C']] });
    log.changed('a');
    log.changed('d');
    expect(values(log, log.epoch, first.next).entries).toEqual([['a', 'A'], ['d', 'D']]);
    expect(values(log, log.epoch, log.current).entries).toEqual([]);
  });

  it('chunks: `more` until everything after the cursor was handed out, with no key lost or repeated', () => {
    const log = new ChangeLog();
    for (let i = 0; i < 25; i++) log.changed(`k${i}`);
    const seen: string[] = [];
    let cursor = 0;
    for (let more = true; more;) {
      const c = values(log, log.epoch, cursor, 10);
      seen.push(...c.entries.map(([k]) => k));
      expect(c.next).toBeGreaterThan(cursor);
      cursor = c.next;
      more = c.more;
    }
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => `k${i}`));
    expect(cursor).toBe(log.current);
  });

  it('starts over for a cursor of another epoch (the peer restarted), and forgets removed keys', () => {
    const log = new ChangeLog();
    for (const k of ['a', 'b', 'c']) log.changed(k);
    log.removed('b');
    expect(values(log, 'some-other-process', 99).entries).toEqual([['a', 'A'], ['c', 'C']]);
    expect(log.size).toBe(2);
  });

  it('skips keys whose value is gone (expired) but still moves the cursor past them', () => {
    const log = new ChangeLog();
    for (const k of ['a', 'b']) log.changed(k);
    const c = log.since(undefined, 0, 10, (k) => (k === 'a' ? undefined : k));
    expect(c).toMatchObject({ next: 2, more: false, entries: [['b', 'b']] });
  });
});
