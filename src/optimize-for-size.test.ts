import { describe, expect, it } from 'vitest';
import { favoursSize, holdSpeed, optimizeForSize } from './optimize-for-size.ts';

describe('optimizeForSize and speed holds', () => {
  it('favours size only when enabled and nothing holds speed; a release counts once', () => {
    const startup = holdSpeed(); // a controller starting before the process enables the mode
    optimizeForSize(true);
    expect(favoursSize()).toBe(false);
    const snapshot = holdSpeed();
    startup();
    startup(); // a second release of the same hold must not release the snapshot's
    expect(favoursSize()).toBe(false);
    snapshot();
    expect(favoursSize()).toBe(true);
    optimizeForSize(false); // memory.optimizeForSize: false
    expect(favoursSize()).toBe(false);
    holdSpeed()();
    expect(favoursSize()).toBe(false);
    optimizeForSize(true);
    expect(favoursSize()).toBe(true);
  });
});
