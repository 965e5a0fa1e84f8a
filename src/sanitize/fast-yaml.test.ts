// fast-yaml.ts must write exactly what the YAML library writes (toYamlByLibrary), or leave the
// object to the library: checked on the fixtures, on strings at every edge of YAML's plain and
// block styles, and on generated Kubernetes-like objects.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastYaml } from './fast-yaml.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { configMapFixture, deploymentFixture, secretFixture, serviceFixture } from './testing/fixtures.ts';
import { toYaml, toYamlByLibrary } from './to-yaml.ts';

const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 7) });
const never = (): boolean => false;

const EDGE_STRINGS = [
  '', ' ', 'a', 'yes', 'Yes', 'NO', 'on', 'Off', 'y', 'n', '~', 'null', 'Null', 'true', 'False', '<<', '=', '0', '-1', '+1', '0o17', '0x1F', '0b101',
  '1_000', '12:30', '1:20:30.5', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '.inf', '-.Inf', '.nan', '.5', '1e3', '1.5e-3', '-', '?', ':', '---', '...',
  '--- a', '%TAG', 'a: b', 'a:b', 'a:', 'a :b', 'a #b', 'a#b', '#a', '- a', '-a', '? a', '?a', 'a ', ' a', '\ta', 'a\tb', "it's", 'say "hi"', `'q'`,
  'back\\slash', '@at', '`tick', '!bang', '&amp', '*star', '|pipe', '>gt', '%pct', '[x]', '{x}', 'a,b', 'a]', 'é', 'naïve café', '中文', '😀', 'ß',
  '\u00a0nbsp', 'line\u2028sep', '\u0085nel', 'del\u007f', 'bom\ufeff', 'nul\u0000', 'x'.repeat(2000), 'word '.repeat(200).trim(),
  'a\nb', 'a\nb\n', 'a\nb\n\n', '\na', '\n\na\n', ' a\nb', 'a\n\nb\n', 'a \nb', 'a\n b\n', 'a\nb ', 'a\n\t', 'a\n ', 'listen: :8080\nfeatures:\n  - x\n',
  '#!/bin/sh\necho hi\n', 'key: value\n# comment\n', 'a\r\nb\r\n', 'a\n---\nb\n', '--- \nx', '...\n', '%YAML\nx\n', 'ü\nß\n', 'tab\tin\nblock\n',
];

function roundTrips(value: unknown): void {
  const fast = fastYaml(value, () => false) === undefined ? undefined : toYaml(value as never);
  const lib = toYamlByLibrary(value as never);
  if (fast !== undefined) expect(fast).toBe(lib);
  expect(toYaml(value as never)).toBe(lib);
}

describe('fast YAML', () => {
  it('writes the fixtures as the library does, without the library', () => {
    for (const make of [deploymentFixture, serviceFixture, secretFixture, configMapFixture]) {
      const obj = sanitize(make(), options);
      expect(fastYaml(obj, never)).toBeDefined();
      expect(toYaml(obj)).toBe(toYamlByLibrary(obj));
    }
  });

  it.each(EDGE_STRINGS.map((s) => [JSON.stringify(s).slice(0, 40), s]))('writes %s as the library does, as a value, key and list item', (_name, s) => {
    roundTrips({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { v: s } });
    roundTrips({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { [s]: 'v' } });
    roundTrips({ apiVersion: 'v1', kind: 'List', items: [s, [s], { k: s }], top: s });
  });

  it('writes numbers, booleans, null, empty and nested collections as the library does', () => {
    for (const v of [0, -0, 1, -1, 42, 2 ** 53 - 1, 2 ** 53, 1.5, -2.25, 1e21, 1e-7, NaN, Infinity, -Infinity, true, false, null, undefined, [], {}, [[]], [{}], [[1, [2, [3]]]], { a: { b: { c: [] } } }]) {
      roundTrips({ apiVersion: 'v1', kind: 'X', metadata: { name: 'x', labels: {} }, spec: { v, list: [v, null, v] } });
    }
    roundTrips({});
  });

  it('writes generated Kubernetes-like objects as the library does', () => {
    const str = fc.oneof(
      { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
      { weight: 2, arbitrary: fc.constantFrom(...EDGE_STRINGS) },
      { weight: 1, arbitrary: fc.array(fc.constantFrom('a', 'b c', ' ', '\n', '\t', ':', '#', '-', '"', "'", 'é', 'x: y', '  indented'), { maxLength: 8 }).map((p) => p.join('')) },
    );
    const scalar = fc.oneof(str, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(undefined));
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof({ depthSize: 'small', maxDepth: 5 }, scalar, fc.array(tie('node'), { maxLength: 4 }), fc.dictionary(str, tie('node'), { maxKeys: 5 })),
    }));
    const object = fc.record({
      apiVersion: fc.constantFrom('v1', 'apps/v1'),
      kind: fc.constantFrom('ConfigMap', 'Deployment'),
      metadata: fc.record({ name: str, namespace: str, labels: fc.dictionary(str, str, { maxKeys: 3 }) }),
      spec: node,
      data: fc.dictionary(str, str, { maxKeys: 4 }),
    });
    let fast = 0;
    fc.assert(fc.property(object, (obj) => {
      if (fastYaml(obj, never) !== undefined) fast++;
      expect(toYaml(obj as never)).toBe(toYamlByLibrary(obj as never));
    }), { numRuns: Number(process.env.FAST_YAML_RUNS ?? 1500) });
    expect(fast).toBeGreaterThan(100); // the fast path is exercised, not always left to the library
  });
});
