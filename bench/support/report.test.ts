import { afterEach, describe, expect, it } from 'vitest';
import { nodeArgs, settingsPatch } from './report.ts';

describe('the benchmarks\' options', () => {
  const argv = process.argv;
  afterEach(() => { process.argv = argv; });
  const withArgs = (...a: string[]): void => { process.argv = ['node', 'bench.ts', ...a]; };

  it('--node-args: absent is the image\'s (undefined), empty is none, flags split on spaces', () => {
    withArgs('--rounds', '2');
    expect(nodeArgs()).toBeUndefined();
    withArgs('--node-args', '');
    expect(nodeArgs()).toEqual([]);
    withArgs('--baseline-node-args', '--single-threaded-gc  --trace-gc');
    expect(nodeArgs('baseline-node-args')).toEqual(['--single-threaded-gc', '--trace-gc']);
  });

  it('--set: dotted paths into the settings, JSON values, else strings; a pair without = is refused', () => {
    withArgs('--set', 'memory.optimizeForSize=false,git.branch=audit,queue.maxPending=5');
    const s: Record<string, unknown> = { memory: { optimizeForSize: true }, git: { url: 'u' } };
    settingsPatch('set')!(s);
    expect(s).toEqual({ memory: { optimizeForSize: false }, git: { url: 'u', branch: 'audit' }, queue: { maxPending: 5 } });
    withArgs();
    expect(settingsPatch('set')).toBeUndefined();
    withArgs('--set', 'memory.optimizeForSize');
    expect(() => settingsPatch('set')).toThrow(/expected path=value/);
  });
});
