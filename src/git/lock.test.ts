import { describe, expect, it } from 'vitest';
import { lockFor, RepoLock } from './lock.ts';

describe('RepoLock', () => {
  it('runs tasks one at a time, in call order, and survives a failing task', async () => {
    const lock = new RepoLock();
    const events: string[] = [];
    const task = (name: string, ms: number, fail = false) => lock.run(async () => {
      events.push(`start ${name}`);
      await new Promise((ok) => setTimeout(ok, ms));
      events.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    });
    const results = await Promise.allSettled([task('a', 20), task('b', 1, true), task('c', 5)]);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(lock.size).toBe(0);
  });

  it('is shared per repository folder', () => {
    expect(lockFor('/tmp/x/../repo')).toBe(lockFor('/tmp/repo'));
    expect(lockFor('/tmp/repo')).not.toBe(lockFor('/tmp/other'));
  });
});
