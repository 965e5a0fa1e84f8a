import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube-object.ts';
import { canonicalJson } from './canonical-json.ts';
import { compareCodePoints } from './canonical-order.ts';
import { contentHash } from './content-hash.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { configMapFixture, deploymentFixture, secretFixture, seededRandom, serviceFixture, shuffleKeys } from './testing/fixtures.ts';

const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 3) });

describe('canonicalJson', () => {
  it('orders apiVersion, kind, metadata, spec first, then the rest sorted', () => {
    const obj = { zeta: 1, data: {}, spec: {}, metadata: {}, kind: 'K', apiVersion: 'v1', alpha: 2, status: 3 };
    expect(Object.keys(JSON.parse(canonicalJson(obj)) as object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec', 'alpha', 'data', 'status', 'zeta']);
  });

  it('orders name, namespace first in the top-level metadata only', () => {
    const obj = { metadata: { labels: {}, namespace: 'ns', annotations: {}, name: 'n', generateName: 'g' }, spec: { template: { metadata: { namespace: 'b', name: 'a', labels: {} } } } };
    expect(canonicalJson(obj)).toBe(
      '{"metadata":{"name":"n","namespace":"ns","annotations":{},"generateName":"g","labels":{}},"spec":{"template":{"metadata":{"labels":{},"name":"a","namespace":"b"}}}}',
    );
  });

  it('sorts nested keys in code-point order, integer-like keys as strings, and keeps array order', () => {
    expect(canonicalJson({ b: [3, 1, 2], a: { '9': 0, '10': 0, B: 0, a: 0, _: 0 } })).toBe('{"a":{"10":0,"9":0,"B":0,"_":0,"a":0},"b":[3,1,2]}');
  });

  it('sorts by code point, not UTF-16 unit: U+FF5E before U+1F600', () => {
    expect(['😀', '～', 'z'].sort(compareCodePoints)).toEqual(['z', '～', '😀']);
    expect(canonicalJson({ '😀': 1, '～': 2 })).toBe('{"～":2,"😀":1}');
    expect(Buffer.compare(Buffer.from('～'), Buffer.from('😀'))).toBe(-1); // as Go and git sort
  });

  it('is the same for any input key order', () => {
    for (const make of [deploymentFixture, serviceFixture, secretFixture, configMapFixture]) {
      const expected = canonicalJson(make());
      for (let seed = 1; seed <= 20; seed++) expect(canonicalJson(shuffleKeys(make(), seededRandom(seed)))).toBe(expected);
    }
  });

  it('holds the same values as JSON.stringify', () => {
    const value = { s: 'a"b\\c\n\u0000\u001f\ud800x\u2028', n: [0, -0, 1.5, 1e21, -1e-7, NaN, Infinity], b: [true, false, null], u: undefined, arr: [undefined, () => 1] };
    expect(JSON.parse(canonicalJson(value as unknown as KubeObject))).toEqual(JSON.parse(JSON.stringify(value)));
    expect(canonicalJson({ s: 'x\ud800' })).toBe(JSON.stringify({ s: 'x\ud800' }));
  });

  it('writes keys that need escaping correctly, every time', () => {
    const obj = { 'a"b': 1, 'c\\d': 2, 'e\nf': 3 };
    expect(canonicalJson(obj)).toBe('{"a\\"b":1,"c\\\\d":2,"e\\nf":3}');
    expect(canonicalJson(obj)).toBe(canonicalJson(obj));
  });

  it('handles roots that are not objects', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson([{ b: 1, a: 2 }])).toBe('[{"a":2,"b":1}]');
    expect(canonicalJson('x')).toBe('"x"');
  });

  it('handles deep nesting', () => {
    let deep: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 2000; i++) deep = { [`k${i % 7}`]: deep, z: i };
    expect(JSON.parse(canonicalJson(deep as KubeObject))).toEqual(deep);
  });
});

describe('contentHash', () => {
  it('is the hex SHA-256 of canonicalJson', () => {
    const obj = sanitize(deploymentFixture(), options);
    expect(contentHash(obj)).toBe(createHash('sha256').update(canonicalJson(obj)).digest('hex'));
    expect(contentHash(obj)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is pinned for a known object (a change here changes every correlation key)', () => {
    expect(contentHash({ kind: 'ConfigMap', apiVersion: 'v1', data: { b: '2', a: '1' }, metadata: { namespace: 'ns', name: 'c' } })).toBe(
      createHash('sha256').update('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","namespace":"ns"},"data":{"a":"1","b":"2"}}').digest('hex'),
    );
  });

  it('is stable under key shuffling and changes with content', () => {
    const base = contentHash(sanitize(deploymentFixture(), options));
    for (let seed = 1; seed <= 10; seed++) expect(contentHash(sanitize(shuffleKeys(deploymentFixture(), seededRandom(seed)), options))).toBe(base);
    const changed = deploymentFixture();
    (changed.spec as { replicas: number }).replicas = 4;
    expect(contentHash(sanitize(changed, options))).not.toBe(base);
  });

  it('ignores what sanitize strips: status and server bookkeeping', () => {
    const a = deploymentFixture();
    const b = deploymentFixture();
    b.metadata!.resourceVersion = '999999';
    b.metadata!.managedFields = [];
    (b.status as { readyReplicas: number }).readyReplicas = 1;
    expect(contentHash(sanitize(a, options))).toBe(contentHash(sanitize(b, options)));
  });
});
