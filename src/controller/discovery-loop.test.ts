import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { ResourceType } from '../kube-object.ts';
import { DiscoveryLoop } from './discovery-loop.ts';
import { CONFIGMAPS, DEPLOYMENTS } from './testing/fakes.ts';

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('DiscoveryLoop', () => {
  it('requests a reconcile only when the catalogue changes, and repairs webhook rules otherwise', async () => {
    const answers: Array<ResourceType[] | Error> = [new Error('apiserver down'), [CONFIGMAPS], [CONFIGMAPS], [DEPLOYMENTS, CONFIGMAPS]];
    let changed = 0;
    let unchanged = 0;
    const loop = new DiscoveryLoop({
      discover: async () => { const a = answers.shift() ?? [CONFIGMAPS, DEPLOYMENTS]; if (a instanceof Error) throw a; return a; },
      intervalMs: 5, retryMs: 1, logger: pino({ level: 'silent' }),
      changed: () => { changed++; }, unchanged: async () => { unchanged++; },
    });
    await loop.start(); // the failure: nothing known yet
    expect(loop.catalogue()).toEqual([]);
    await until(() => answers.length === 0);
    await until(() => unchanged >= 2);
    loop.stop();
    expect(changed).toBe(2); // [configmaps], then deployments added (order of the answer does not matter)
    expect(loop.catalogue().map((t) => t.resource).sort()).toEqual(['configmaps', 'deployments']);
  });
});
