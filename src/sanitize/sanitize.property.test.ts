// Property tests: arbitrary JSON-ish objects (deep nesting, huge strings, lone surrogates, RTL,
// NUL, keys like __proto__ and ../../etc) through sanitize, canonicalJson, contentHash and toYaml.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KubescribeError } from '../errors.ts';
import type { KubeObject } from '../kube-object.ts';
import { canonicalJson } from './canonical-json.ts';
import { contentHash } from './content-hash.ts';
import { parseFieldPath, type FieldPathSegment } from './field-path.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { anyObject, excludeFieldsEntry, json, key, objectOf, oddChar } from './testing/arbitraries.ts';
import { deploymentFixture, seededRandom, shuffleKeys } from './testing/fixtures.ts';
import { yamlInDocumentOrder } from './testing/yaml-document-order.ts';
import { toYaml } from './to-yaml.ts';

const options = compileSanitizeOptions({
  secretKey: Buffer.alloc(32, 0x42),
  excludeFields: ['spec.replicas', { path: 'spec.*.image', kinds: ['Deployment'] }, 'metadata.annotations["example.com/x"]', 'data["../../etc"]'],
});

const noExcludes = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 0x42) });

const asKube = (v: Record<string, unknown>) => v as KubeObject;

// ---- properties --------------------------------------------------------------------------------

describe('sanitize, canonicalJson, toYaml on arbitrary objects', () => {
  it('never throw, and toYaml holds exactly the content and key order of canonicalJson', () => {
    fc.assert(
      fc.property(anyObject, (obj) => {
        const sanitized = sanitize(asKube(obj), options);
        const canonical = canonicalJson(sanitized);
        expect(yamlInDocumentOrder(toYaml(sanitized))).toBe(canonical);
        expect(contentHash(sanitized)).toMatch(/^[0-9a-f]{64}$/);
        // canonicalJson is JSON, and writes the same values JSON.stringify would.
        expect(JSON.parse(canonical)).toEqual(JSON.parse(JSON.stringify(sanitized)));
      }),
      { numRuns: 1500 },
    );
  });

  it('write unsanitized objects just as well', () => {
    fc.assert(
      fc.property(anyObject, (obj) => {
        expect(yamlInDocumentOrder(toYaml(asKube(obj)))).toBe(canonicalJson(asKube(obj)));
      }),
      { numRuns: 1000 },
    );
  });

  it('give the same text, bytes and hash whatever the input key order', () => {
    fc.assert(
      fc.property(anyObject, fc.integer(), (obj, seed) => {
        const shuffled = shuffleKeys(obj, seededRandom(seed));
        expect(canonicalJson(asKube(shuffled))).toBe(canonicalJson(asKube(obj)));
        const a = sanitize(asKube(obj), options);
        const b = sanitize(asKube(shuffled), options);
        expect(contentHash(b)).toBe(contentHash(a));
        expect(toYaml(b)).toBe(toYaml(a));
      }),
      { numRuns: 2000 },
    );
  });

  it('never mutate their input', () => {
    // Exact: key order, prototypes, -0, NaN, undefined (util.inspect gives up on deep nesting).
    const fingerprint = (v: unknown): string => {
      if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
      if (typeof v !== 'object' || v === null) return typeof v + ':' + JSON.stringify(v);
      if (Array.isArray(v)) return '[' + v.map(fingerprint).join(',') + ']';
      const proto = Object.getPrototypeOf(v) === null ? 'null-proto' : 'object';
      return proto + '{' + Object.keys(v).map((k) => JSON.stringify(k) + ':' + fingerprint((v as Record<string, unknown>)[k])).join(',') + '}';
    };
    fc.assert(
      fc.property(anyObject, (obj) => {
        const before = fingerprint(obj);
        const sanitized = sanitize(asKube(obj), options);
        canonicalJson(asKube(obj));
        toYaml(asKube(obj));
        expect(fingerprint(obj)).toBe(before);
        // Nor is the input reachable from the output.
        sanitized.metadata = { name: 'changed' };
        expect(fingerprint(obj)).toBe(before);
      }),
      { numRuns: 2000 },
    );
  });

  it('keep __proto__ and constructor keys as data and pollute no prototype', () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    const payload = objectOf(fc.oneof(json, fc.constant({ polluted: true, toString: 'x' })));
    fc.assert(
      fc.property(payload, (data) => {
        const obj = asKube({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'p' }, data });
        const sanitized = sanitize(obj, noExcludes);
        // ConfigMap data has no rules: everything, __proto__ keys included, is kept as data.
        expect(canonicalJson(sanitized.data as KubeObject)).toBe(canonicalJson(data as KubeObject));
        const text = toYaml(sanitized);
        expect(yamlInDocumentOrder(text)).toBe(canonicalJson(sanitized));
        // Every object of the output is an ordinary object or array.
        const walk = (v: unknown) => {
          if (typeof v !== 'object' || v === null) return;
          expect([Object.prototype, Array.prototype]).toContain(Object.getPrototypeOf(v));
          for (const c of Object.values(v)) walk(c);
        };
        walk(sanitized);
        expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
        expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(protoKeys);
      }),
      { numRuns: 2000 },
    );
  });

  it('never write a Secret value, nor its base64, in canonicalJson or toYaml', () => {
    // Values start with 'Ω' (base64 'zq…'), so they cannot be mistaken for keys or hex markers.
    const secretValue = fc.string({ unit: oddChar, minLength: 7, maxLength: 40 }).map((s) => 'Ω' + s);
    const keyName = fc.stringMatching(/^[a-z]{1,6}$/);
    const values = fc.dictionary(keyName, secretValue, { minKeys: 1, maxKeys: 4 });
    fc.assert(
      fc.property(values, values, fc.constantFrom('v1', undefined), (data, stringData, apiVersion) => {
        const b64 = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
        const secret = asKube({ apiVersion, kind: 'Secret', metadata: { name: 's', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: b64, stringData }) } }, data: b64, stringData });
        const sanitized = sanitize(secret, options);
        const outputs = [canonicalJson(sanitized), toYaml(sanitized)];
        for (const v of [...Object.values(data), ...Object.values(stringData)]) {
          const base64 = Buffer.from(v).toString('base64');
          for (const out of outputs) {
            expect(out).not.toContain(v);
            expect(out).not.toContain(base64.replace(/=+$/, ''));
            expect(out).not.toContain(JSON.stringify(v).slice(1, -1));
          }
        }
        for (const v of [...Object.values(sanitized.data as object), ...Object.values(sanitized.stringData as object)]) expect(v).toMatch(/^redacted:hmac-sha256:[0-9a-f]{32}$/);
        // The same value gives the same marker in data and in stringData.
        for (const k of Object.keys(data)) if (stringData[k] === data[k]) expect((sanitized.data as Record<string, string>)[k]).toBe((sanitized.stringData as Record<string, string>)[k]);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('settings on arbitrary input', () => {
  it('compile or fail with KUBESCRIBE_ERR_SETTINGS_INVALID, and compiled rules never make sanitize throw', () => {
    fc.assert(
      fc.property(fc.array(excludeFieldsEntry, { maxLength: 4 }), anyObject, (excludeFields, obj) => {
        let compiled;
        try {
          compiled = compileSanitizeOptions({ secretKey: Buffer.alloc(16, 1), excludeFields });
        } catch (err) {
          expect(err).toBeInstanceOf(KubescribeError);
          expect((err as KubescribeError).code).toBe('KUBESCRIBE_ERR_SETTINGS_INVALID');
          return;
        }
        const out = sanitize(asKube(obj), compiled);
        expect(yamlInDocumentOrder(toYaml(out))).toBe(canonicalJson(out));
        sanitize(deploymentFixture(), compiled);
      }),
      { numRuns: 1000 },
    );
  });

  it('parse back any path written in bracket and dot form', () => {
    const segment: fc.Arbitrary<FieldPathSegment> = fc.oneof(
      key.map((k) => ({ type: 'key' as const, key: k })),
      fc.nat({ max: 1000 }).map((index) => ({ type: 'index' as const, index })),
      fc.constant({ type: 'any' as const }),
    );
    const format = (segs: FieldPathSegment[]) =>
      segs
        .map((s, i) => {
          if (s.type === 'any') return i === 0 ? '*' : '[*]';
          if (s.type === 'index') return `[${s.index}]`;
          if (/^[A-Za-z0-9_/-]+$/.test(s.key)) return i === 0 ? s.key : `.${s.key}`;
          return `["${s.key.replace(/["\\]/g, (c) => '\\' + c)}"]`;
        })
        .join('');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 6 }), (segs) => {
        expect(parseFieldPath(format(segs))).toEqual(segs);
      }),
      { numRuns: 1000 },
    );
  });
});
