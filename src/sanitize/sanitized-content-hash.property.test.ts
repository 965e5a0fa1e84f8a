// The contract of sanitizedContentHash: equal to contentHash(sanitize(obj, options)) for every
// input and every compiled setting, since the webhook records under the first and the watch looks
// up under the second. Arbitrary objects (odd keys, __proto__, deep nesting past MAX_DEPTH,
// Secrets with odd values, exclusions with wildcards) and the realistic fixtures.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube-object.ts';
import { contentHash } from './content-hash.ts';
import { compileSanitizeOptions, type SanitizeOptions } from './sanitize-options.ts';
import { sanitize, MAX_DEPTH } from './sanitize.ts';
import { sanitizedContentHash } from './sanitized-content-hash.ts';
import { anyObject, excludeFieldsEntry, hugeText, json, key, objectOf, scalar, text } from './testing/arbitraries.ts';
import { configMapFixture, deploymentFixture, secretFixture, seededRandom, serviceFixture, shuffleKeys } from './testing/fixtures.ts';

const secretKey = Buffer.alloc(32, 0x42);
const noExcludes = compileSanitizeOptions({ secretKey });
const withExcludes = compileSanitizeOptions({
  secretKey,
  excludeFields: [
    'spec.replicas',
    { path: 'spec.*.image', kinds: ['Deployment'] },
    'metadata.annotations["example.com/x"]',
    'metadata.labels.*',
    'data["../../etc"]',
    { path: 'stringData.__proto__', kinds: ['Secret'] },
    'spec.template.spec.containers[*].env[1]',
    'spec[0]',
    'spec.__proto__.constructor',
  ],
});

const asKube = (v: unknown) => v as KubeObject;

function expectSameHash(obj: unknown, options: SanitizeOptions): void {
  expect(sanitizedContentHash(asKube(obj), options)).toBe(contentHash(sanitize(asKube(obj), options)));
}

/** The property over `objects`, with the default options and with user exclusions. */
function sameHashWithAndWithoutExcludes(objects: fc.Arbitrary<unknown>, numRuns: number): void {
  fc.assert(
    fc.property(objects, (obj) => {
      expectSameHash(obj, noExcludes);
      expectSameHash(obj, withExcludes);
    }),
    { numRuns },
  );
}

/** A value nested `depth` levels (objects under `keys`, some arrays), around MAX_DEPTH. */
const deep = (min: number, max: number) =>
  fc.tuple(fc.integer({ min, max }), fc.array(key, { minLength: 1, maxLength: 3 }), fc.oneof(scalar, json)).map(([depth, keys, leaf]) => {
    let v: unknown = leaf;
    for (let i = 0; i < depth; i++) v = i % 7 === 3 ? [v, i] : { [keys[i % keys.length]!]: v, n: i };
    return v;
  });

// Secret values: base64 (canonical or not), text, odd characters, non-strings, nested values.
const secretValue = fc.oneof(
  text,
  text.map((t) => Buffer.from(t).toString('base64')),
  text.map((t) => Buffer.from(t).toString('base64').replace(/=+$/, '')),
  fc.constantFrom('', '====', 'YQ', 'YQ==', 'YWJj\n', '_-_-', 'Zm9v YmFy'),
  scalar,
  json,
);
const secretLike = fc
  .record(
    {
      apiVersion: fc.constantFrom('v1', '', undefined, 'example.com/v1'),
      kind: fc.constant('Secret'),
      type: fc.constantFrom('Opaque', 'kubernetes.io/tls'),
      metadata: fc.record({ name: text, annotations: fc.oneof(objectOf(text), json) }, { requiredKeys: [] }),
      data: fc.oneof(objectOf(secretValue), secretValue, deep(MAX_DEPTH - 4, MAX_DEPTH + 4)),
      stringData: fc.oneof(objectOf(secretValue), secretValue),
    },
    { requiredKeys: ['kind'] },
  )
  .map((o) => o as Record<string, unknown>);

// Rule paths (metadata, annotations, labels, spec) holding values that end up empty, or deep.
const ruledPaths = fc
  .record({
    apiVersion: fc.constantFrom('apps/v1', 'v1'),
    kind: fc.constantFrom('Deployment', 'Service', 'Pod'),
    metadata: fc.oneof(
      fc.record({
        name: text,
        uid: text,
        annotations: fc.oneof(fc.constant({}), fc.constant({ 'kubectl.kubernetes.io/last-applied-configuration': '{}' }), fc.constant({ 'example.com/x': 'gone', a: undefined }), objectOf(text)),
        labels: fc.oneof(fc.constant({}), objectOf(text), fc.constant({ a: undefined })),
        managedFields: json,
      }, { requiredKeys: [] }),
      deep(MAX_DEPTH - 3, MAX_DEPTH + 3),
    ),
    spec: fc.oneof(objectOf(json), fc.array(json, { maxLength: 3 }), deep(MAX_DEPTH - 3, MAX_DEPTH + 3), fc.record({ clusterIP: text, clusterIPs: json, template: json, replicas: scalar })),
    status: json,
    huge: fc.option(hugeText, { nil: undefined }),
  }, { requiredKeys: ['kind'] });

describe('sanitizedContentHash equals contentHash(sanitize(obj))', () => {
  it.each([
    ['a Deployment', deploymentFixture],
    ['a Secret', secretFixture],
    ['a Service', serviceFixture],
    ['a ConfigMap', configMapFixture],
  ])('for %s, in any key order, with and without exclusions', (_name, fixture) => {
    for (let seed = 0; seed < 20; seed++) {
      const obj = shuffleKeys(fixture(), seededRandom(seed));
      expectSameHash(obj, noExcludes);
      expectSameHash(obj, withExcludes);
    }
  });

  it('on arbitrary objects (odd keys, __proto__, undefined, -0, NaN, huge strings, deep chains)', () => {
    sameHashWithAndWithoutExcludes(anyObject, 2000);
  });

  it('on Secrets: data and stringData of any shape, apiVersion missing, values nested past MAX_DEPTH', () => {
    sameHashWithAndWithoutExcludes(secretLike, 1500);
  });

  it('on rule paths that end up empty or nest around MAX_DEPTH', () => {
    sameHashWithAndWithoutExcludes(ruledPaths, 1000);
  });

  it('under arbitrary exclusion settings', () => {
    fc.assert(
      fc.property(fc.array(excludeFieldsEntry, { maxLength: 4 }), fc.oneof(anyObject, secretLike, ruledPaths), (excludeFields, obj) => {
        let options: SanitizeOptions;
        try {
          options = compileSanitizeOptions({ secretKey, excludeFields });
        } catch {
          return; // invalid settings: covered by sanitize.property.test.ts
        }
        expectSameHash(obj, options);
        expectSameHash(deploymentFixture(), options);
      }),
      { numRuns: 1000 },
    );
  });

  it('where a rule path itself is deeper than MAX_DEPTH (the walk truncates on a rule node)', () => {
    const options = compileSanitizeOptions({ secretKey, excludeFields: ['spec' + '.*'.repeat(MAX_DEPTH + 8) + '.gone'] });
    for (const depth of [MAX_DEPTH - 2, MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 10]) {
      let v: unknown = { gone: 1, kept: 2 };
      for (let i = 0; i < depth; i++) v = { a: v, gone: i };
      expectSameHash({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, spec: v }, options);
    }
  });

  it('with values JSON leaves out, anywhere, and sparse arrays', () => {
    const fn = () => 1;
    const sym = Symbol('s');
    // eslint-disable-next-line no-sparse-arrays
    const sparse = [1, , 3];
    const objects = [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'f', annotations: { f: fn } }, data: { f: fn, s: sym, u: undefined, a: [fn, sym, undefined], sparse } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', labels: { s: sym } }, data: { f: fn, s: sym, a: [fn, undefined], n: 1n }, stringData: fn },
      { apiVersion: 'v1', kind: 'Secret', data: [undefined, fn, 'eA=='], stringData: sparse },
      { kind: 'Deployment', metadata: { annotations: { u: undefined } }, spec: { big: 12345678901234567890n, neg: -0, nan: NaN, inf: -Infinity } },
    ];
    for (const obj of objects) {
      expectSameHash(obj, noExcludes);
      expectSameHash(obj, withExcludes);
    }
  });

  it('throws on what is not an object, as sanitize does', () => {
    for (const bad of [null, [], 'x', 1, undefined]) {
      expect(() => sanitizedContentHash(asKube(bad), noExcludes)).toThrow(TypeError);
      expect(() => sanitize(asKube(bad), noExcludes)).toThrow(TypeError);
    }
  });

  it('is not thrown off by one huge object before a small one (the reused buffer)', () => {
    const huge = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'huge' }, data: { a: 'x'.repeat(3 * 1024 * 1024), b: 'ß€😀'.repeat(100_000) } };
    expectSameHash(huge, noExcludes);
    expectSameHash(configMapFixture(), noExcludes);
    expectSameHash(huge, noExcludes);
  });
});
