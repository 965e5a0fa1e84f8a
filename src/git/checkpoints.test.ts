import { describe, expect, it } from 'vitest';
import { CHECKPOINT_PATH, checkpointPath, Checkpoints, untrusted } from './checkpoints.ts';

const reader = (files: Record<string, string>) => async (path: string) => files[path];

describe('checkpoints: one file per cluster, naming the cluster that wrote it', () => {
  it('keeps the single-cluster path without a name, and one file per cluster name', () => {
    expect(checkpointPath('')).toBe(CHECKPOINT_PATH);
    expect(checkpointPath('eu-1')).toBe('.kubescribe/checkpoints/eu-1.json');
  });

  it('writes this cluster\'s identity with the resourceVersions, and reads it back', async () => {
    const self = { name: 'eu-1', uid: 'uid-eu' };
    const cps = await Checkpoints.load(reader({}), checkpointPath('eu-1'), () => self);
    const next = cps.advanced('|core/configmaps', '42');
    const file = cps.file(next);
    cps.set(next);
    expect(file.path).toBe('.kubescribe/checkpoints/eu-1.json');
    expect(JSON.parse(file.content!)).toEqual({ cluster: self, resourceVersions: { '|core/configmaps': '42' } });
    const again = await Checkpoints.load(reader({ [file.path]: file.content! }), file.path);
    expect(again.get('|core/configmaps')).toBe('42');
    expect(again.written).toEqual(self);
  });

  it('reads the flat file of earlier versions (no identity)', async () => {
    const cps = await Checkpoints.load(reader({ [CHECKPOINT_PATH]: '{"|core/configmaps":"7"}' }));
    expect(cps.get('|core/configmaps')).toBe('7');
    expect(cps.written).toBeUndefined();
  });

  it('forgets a rejected checkpoint, so nothing above it is skipped as already recorded', async () => {
    const cps = await Checkpoints.load(reader({ [CHECKPOINT_PATH]: '{"resourceVersions":{"k":"900"}}' }));
    expect(cps.covers('k', '50')).toBe(true);
    cps.reject('k');
    expect(cps.covers('k', '50')).toBe(false);
  });
});

describe('untrusted: checkpoints not to replay from', () => {
  const mine = { written: { name: 'eu-1', uid: 'uid-eu' } };
  it('accepts its own cluster\'s checkpoint at or below the current resourceVersion', () => {
    expect(untrusted(mine, '100', { uid: 'uid-eu', resourceVersion: '150' })).toBeUndefined();
    expect(untrusted({ written: undefined }, '100', { uid: 'uid-eu', resourceVersion: '100' })).toBeUndefined();
  });
  it('rejects a checkpoint written by another cluster', () => {
    expect(untrusted(mine, '100', { uid: 'uid-us', resourceVersion: '150' })).toMatchObject({ reason: 'CheckpointFromOtherCluster', message: expect.stringContaining('uid-eu') });
  });
  it('rejects a checkpoint ahead of the cluster ("too large resource version")', () => {
    expect(untrusted(mine, '9000', { uid: 'uid-eu', resourceVersion: '150' })).toMatchObject({ reason: 'CheckpointAhead', message: expect.stringContaining('150') });
  });
});
