import { describe, expect, it } from 'vitest';
import { readiness } from './readiness.ts';

const base = { applied: true, customResourcesSynced: true, watchesSynced: true, watches: 2, writers: [{ destination: 'a@main', open: true }], catalogue: 40 };

describe('readiness (synced)', () => {
  it('is synced only when everything is', () => {
    expect(readiness(base).ready).toBe(true);
    for (const broken of [{ applied: false }, { customResourcesSynced: false }, { watchesSynced: false }, { catalogue: 0 }, { writers: [{ destination: 'a@main', open: false }] }]) {
      expect(readiness({ ...base, ...broken }).ready, JSON.stringify(broken)).toBe(false);
    }
  });
  it('says which part is missing', () => {
    expect(readiness({ ...base, writers: [{ destination: 'a@main', open: false }] }).detail).toMatchObject({ writers: [{ destination: 'a@main', open: false }], configurationApplied: true });
  });
});
