// Destinations against a real Git server (the e2e stack's smart-HTTP server on a random port).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSWORD, silentLogger, startGitRemote, USER, type GitRemote } from '../git/testing/git-remote.ts';
import { itemBytes } from '../queue/index.ts';
import { toYaml } from '../sanitize/index.ts';
import { Destinations, type DestinationConfig, type DestinationEvents } from './destinations.ts';
import { change, configMap } from './testing/fakes.ts';

const exec = promisify(execFile);
const target = { baseFolder: '', ageRecipients: [] };

describe('Destinations', () => {
  let remote: GitRemote;
  let destinations: Destinations;
  let password: string;
  const seen: string[] = [];

  const config = (extra: Partial<DestinationConfig> = {}): DestinationConfig => ({
    key: 'team/audit@main', repoKey: 'team/audit', url: remote.url, branch: 'main', pushIntervalMs: 50, pushMaxCommits: 100,
    authorEmailTemplate: '{{username}}@example.com', credentials: () => ({ username: USER, password }), signing: () => undefined, ...extra,
  });
  const start = (events: DestinationEvents = {}, maxPending = 100, maxPendingBytes = 1 << 30): Destinations =>
    (destinations = new Destinations({ dataDir: join(remote.tmp, 'data'), committer: { name: 'kubescribe', email: 'k@example.com' }, maxPending, maxPendingBytes, backoffMs: 20, maxBackoffMs: 100, toYaml, logger: silentLogger, events }));
  const authors = async (): Promise<string[]> => {
    const dir = join(remote.tmp, `check-${Date.now()}`);
    await exec('git', ['clone', '-q', '-b', 'main', remote.cliUrl, dir]);
    return (await exec('git', ['-C', dir, 'log', '--format=%an %s'])).stdout.trim().split('\n').filter((l) => !l.includes('initial'));
  };
  const until = async (cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeEach(async () => {
    remote = await startGitRemote();
    password = PASSWORD;
    seen.length = 0;
  });
  afterEach(async () => {
    await destinations?.close();
    await remote.stop();
  });

  it('opens a destination and commits each change with its author', async () => {
    const d = start({ opened: () => seen.push('opened') });
    await d.sync([config()]);
    await d.push('team/audit@main', change(configMap('shop', 'a'), 'CREATE', 'alice'), target);
    await d.push('team/audit@main', change(configMap('shop', 'b'), 'CREATE', 'bob'), target);
    await until(async () => (await authors().catch(() => [])).length === 2);
    expect((await authors()).map((l) => l.split(' ')[0])).toEqual(['bob', 'alice']);
    expect(seen).toEqual(['opened']);
  });

  it('applies push settings in place: the same writer, nothing reopened', async () => {
    const d = start({ opened: () => seen.push('opened') });
    await d.sync([config()]);
    await until(() => d.writer('team/audit@main') !== undefined);
    const before = d.writer('team/audit@main');
    await d.sync([config({ pushMaxCommits: 1, authorEmailTemplate: '{{username}}@corp.example' })]);
    expect(d.writer('team/audit@main')).toBe(before);
    expect(seen).toEqual(['opened']);
  });

  // Full by count (2 changes) or by bytes (room for 2 of these changes, not 3): the same overflow.
  const oneChange = itemBytes(change(configMap('shop', 'a'), 'CREATE', 'alice'));
  it.each([
    { full: 'by count', maxPending: 2, maxPendingBytes: 1 << 30 },
    { full: 'by bytes', maxPending: 100, maxPendingBytes: 2 * oneChange + 10 },
  ])('a destination that cannot open keeps its queue, overflows ($full) into a resync, and records once the credentials are fixed', async ({ maxPending, maxPendingBytes }) => {
    password = 'wrong';
    const depths: Array<[number, number]> = [];
    const d = start({ openFailed: () => seen.push('openFailed'), needsResync: () => seen.push('needsResync'), depth: (_, n, b) => depths.push([n, b]) }, maxPending, maxPendingBytes);
    await d.sync([config()]);
    for (const n of ['a', 'b', 'c']) await d.push('team/audit@main', change(configMap('shop', n), 'CREATE', 'alice'), target);
    expect(depths.at(-1)).toEqual([2, 2 * oneChange]);
    await until(() => seen.includes('openFailed'));
    expect(d.writer('team/audit@main')).toBeUndefined();
    password = PASSWORD;
    await until(() => seen.includes('needsResync'));
    await until(async () => (await authors().catch(() => [])).length === 2); // the two queued; the third comes from the resync
  });

  it('a destination removed from the configuration reports closed; one reopened at another URL does not', async () => {
    password = 'wrong'; // never opens: its queue never drains, so only `closed` says its depth is no longer current
    const closed: string[] = [];
    const depths: number[] = [];
    const d = start({ closed: (c) => closed.push(c.url), depth: (_, n) => depths.push(n) });
    await d.sync([config()]);
    await d.push('team/audit@main', change(configMap('shop', 'a'), 'CREATE', 'alice'), target);
    await d.sync([config({ url: `${remote.url}?moved` })]); // replaced: the key lives on in the new slot
    expect(closed).toEqual([]);
    await d.sync([]);
    expect(closed).toEqual([`${remote.url}?moved`]);
    expect(depths).toEqual([1]); // nothing drained it
  });

  it('its checkpoints are waited for while it opens, not once an attempt to open failed', async () => {
    const d = start();
    await d.sync([config()]);
    expect(await d.checkpoints('team/audit@main', 60_000)).toBeDefined();
    password = 'wrong';
    const broken = start();
    await broken.sync([config({ key: 'team/broken@main' })]);
    const t0 = Date.now();
    expect(await broken.checkpoints('team/broken@main', 60_000)).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(30_000); // its first failure, not the minute
    await broken.close();
    await d.close();
  });

  it('opens once its credentials\' Secret is read, not before: no failed attempt, and its checkpoints are waited for meanwhile', async () => {
    let reading = true;
    const d = start({ openFailed: () => seen.push('openFailed'), opened: () => seen.push('opened') });
    // While the Secret is read there are no credentials: an attempt now would fail (HTTP 401).
    await d.sync([config({ credentials: () => (reading ? undefined : { username: USER, password }), secretsPending: () => reading })]);
    expect(await d.checkpoints('team/audit@main', 300)).toBeUndefined(); // still waiting, not failed
    expect(seen).toEqual([]);
    reading = false;
    expect(await d.checkpoints('team/audit@main', 60_000)).toBeDefined();
    expect(seen).toEqual(['opened']);
  });

  it('close() after a fence waits for the fenced writers to let go of their folders', async () => {
    const d = start();
    await d.sync([config()]);
    expect(await d.checkpoints('team/audit@main', 60_000)).toBeDefined();
    void d.fence();
    await d.close(); // what the controller's stop does after a fence, before the next term starts
    // The next term's writer opens the same folder at once.
    const next = start({ openFailed: (_c, err) => seen.push(`openFailed: ${(err as Error).message}`), opened: () => seen.push('opened') });
    await next.sync([config()]);
    expect(await next.checkpoints('team/audit@main', 60_000)).toBeDefined();
    expect(seen).toEqual(['opened']);
    await next.close();
  });

  it('after fence nothing is committed or pushed', async () => {
    const d = start();
    await d.sync([config({ pushIntervalMs: 3_600_000 })]);
    await until(() => d.writer('team/audit@main') !== undefined);
    await d.fence();
    await d.push('team/audit@main', change(configMap('shop', 'late'), 'CREATE', 'mallory'), target);
    await d.sync([config()]);
    expect(d.keys()).toEqual([]);
    await d.close(); // a close pushes what is pending: nothing may be
    expect(await authors().catch((err: Error) => (/Remote branch main not found/.test(err.message) ? [] : [err.message]))).toEqual([]);
  });
});
