// Argument parsing shared by the commands, and the output helpers.

import { describe, expect, it } from 'vitest';
import { parseLimit, parseObjectTarget, parseSince } from './command-line.ts';
import { colourEnabled, formatColumns, isoTime, unifiedDiff } from './format.ts';

const now = new Date('2025-01-10T18:00:00Z');

describe('parseSince', () => {
  it.each([
    ['30m', '2025-01-10T17:30:00.000Z'],
    ['24h', '2025-01-09T18:00:00.000Z'],
    ['7d', '2025-01-03T18:00:00.000Z'],
    ['2w', '2024-12-27T18:00:00.000Z'],
    ['1h30m', '2025-01-10T16:30:00.000Z'],
    ['45s', '2025-01-10T17:59:15.000Z'],
    ['2025-01-10', '2025-01-10T00:00:00.000Z'],
    ['2025-01-10T09:30:00Z', '2025-01-10T09:30:00.000Z'],
    ['2025-01-10T09:30:00+02:00', '2025-01-10T07:30:00.000Z'],
  ])('%s → %s', (text, iso) => {
    expect(parseSince(text, now).toISOString()).toBe(iso);
  });

  it.each([['yesterday'], ['24'], ['h'], ['-1h'], ['2025-13-45'], ['3 days']])('rejects %s', (text) => {
    expect(() => parseSince(text, now)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
});

describe('parseLimit', () => {
  it('takes positive whole numbers only', () => {
    expect(parseLimit('10')).toBe(10);
    for (const bad of ['0', '-1', '1.5', 'ten', '']) expect(() => parseLimit(bad)).toThrow();
  });
});

describe('parseObjectTarget', () => {
  it.each([
    [['deploy', 'shop/web'], undefined],
    [['deploy', 'web'], 'shop'],
    [['deploy/web'], 'shop'],
    [['deploy', 'shop/web'], 'shop'],
  ])('%j -n %s is deployments shop/web', (positionals, ns) => {
    expect(parseObjectTarget(positionals, ns, 'history').ref).toEqual({ group: 'apps', resource: 'deployments', namespace: 'shop', name: 'web' });
  });

  it('keeps RBAC names with colons', () => {
    expect(parseObjectTarget(['clusterrole', 'system:aggregate-to-view'], undefined, 'history').ref.name).toBe('system:aggregate-to-view');
  });

  it('takes a custom resource as namespaced when a namespace is given, cluster-scoped otherwise', () => {
    expect(parseObjectTarget(['widgets.example.com', 'shop/gizmo'], undefined, 'history').ref.namespace).toBe('shop');
    expect(parseObjectTarget(['widgets.example.com', 'gizmo'], undefined, 'history').ref.namespace).toBeUndefined();
  });

  it.each([
    [[], 'which object?'],
    [['deploy'], 'which object?'],
    [['deploy', 'a/b/c'], 'is not <namespace>/<name>'],
    [['deploy', 'shop/'], 'is not <namespace>/<name>'],
    [['deploy', 'Shop/web'], 'not a valid namespace name'],
    [['deploy', 'shop/web', 'extra'], 'unexpected argument "extra"'],
  ])('%j is a usage error', (positionals, message) => {
    expect(() => parseObjectTarget(positionals, undefined, 'history')).toThrow(expect.objectContaining({ exitCode: 2, message: expect.stringContaining(message) as string }));
  });
});

describe('format', () => {
  it('prints times in ISO UTC without milliseconds', () => {
    expect(isoTime(1736499600)).toBe('2025-01-10T09:00:00Z');
  });

  it('colours only a terminal without NO_COLOR', () => {
    expect(colourEnabled('auto', true, {})).toBe(true);
    expect(colourEnabled('auto', false, {})).toBe(false);
    expect(colourEnabled('auto', undefined, {})).toBe(false);
    expect(colourEnabled('auto', true, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled('always', false, {})).toBe(true);
    expect(colourEnabled('never', true, {})).toBe(false);
  });

  it('aligns columns, leaving the last one as is', () => {
    expect(formatColumns([['a', 'bb', 'x  '], ['ccc', 'd', 'y']])).toEqual(['a    bb  x  ', 'ccc  d   y']);
  });

  it('writes git-style file headers only when asked', () => {
    expect(unifiedDiff('p.yaml', 'a: 1\n', 'a: 2\n', { fileHeaders: true })).toBe('--- a/p.yaml\n+++ b/p.yaml\n@@ -1,1 +1,1 @@\n-a: 1\n+a: 2\n');
    expect(unifiedDiff('p.yaml', undefined, 'a: 2\n', { fileHeaders: true })).toBe('--- /dev/null\n+++ b/p.yaml\n@@ -0,0 +1,1 @@\n+a: 2\n');
    expect(unifiedDiff('p.yaml', 'a: 1\n', 'a: 2\n', { fileHeaders: false })).toBe('@@ -1,1 +1,1 @@\n-a: 1\n+a: 2\n');
  });
});
