// fast-check arbitraries for the property tests of sanitize and of the content hash: JSON-ish
// objects with deep nesting, huge strings, lone surrogates, RTL, NUL, keys like __proto__ and
// ../../etc, Kubernetes-like objects of the kinds that have rules, and deep chains.
import fc from 'fast-check';

export const oddChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('\0', '\ud800', '\udfff', '\u202e', '\u200f', '\u0085', '\ufeff', '\u2028', '\u007f', '\ufffe', '"', '\\', '\n', '\r', '\t', ' ', ':', '#', '-', '?', '&', '*', '!', '|', '>', "'", '%', '@', '`', '{', '[', ',', '😀', 'ß', 'ع', 'א') },
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
export const text = fc.string({ unit: oddChar, maxLength: 12 });
export const yamlish = fc.constantFrom('yes', 'no', 'on', 'off', 'y', 'N', '0o17', '1_000', '0x1F', '~', 'null', 'true', '2.10', '-', '---', '...', '<<', '12:30', '.inf', '');
export const hugeText = fc
  .tuple(fc.integer({ min: 10_000, max: 60_000 }), text, fc.boolean())
  .map(([n, t, multiline]) => t + (multiline ? 'line of text\n' : 'x').repeat(Math.ceil(n / (multiline ? 13 : 1))) + t);
export const key = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '../../etc', '../../../etc/passwd', '', ' ', '0', '9', '10', '-1', '1.5', 'yes', 'on', '<<', 'apiVersion', 'kind', 'metadata', 'spec', 'status', 'name', 'namespace', 'data', 'annotations', 'labels', 'uid', 'image', 'replicas'),
  },
  { weight: 3, arbitrary: text },
);
export const scalar = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 2, arbitrary: yamlish },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: fc.double() }, // includes -0, NaN and ±Infinity
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

/** An object built with defineProperty, so `__proto__` is a plain key and the prototype is Object's. */
export const plainObjectOf = <T>(value: fc.Arbitrary<T>) =>
  fc.array(fc.tuple(key, value), { maxLength: 5 }).map((entries) => {
    const out: Record<string, T> = {};
    for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
    return out;
  });
// fast-check's dictionaries: null-prototype objects whenever a __proto__ key is drawn.
export const objectOf = <T>(value: fc.Arbitrary<T>) => fc.oneof(plainObjectOf(value), fc.dictionary(key, value, { maxKeys: 5 }));

export const { json } = fc.letrec<{ json: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', maxDepth: 5 }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }),
  object: objectOf(tie('json')),
}));

export const deepChain = fc.tuple(fc.integer({ min: 50, max: 600 }), fc.array(key, { minLength: 1, maxLength: 3 }), scalar).map(([depth, keys, leaf]) => {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = i % 5 === 0 ? [v] : { [keys[i % keys.length]!]: v };
  return { apiVersion: 'v1', kind: 'ConfigMap', data: v } as Record<string, unknown>;
});

export const kubeLike = fc
  .tuple(
    fc.record(
      {
        apiVersion: fc.constantFrom('v1', 'apps/v1', 'example.com/v1', ''),
        kind: fc.constantFrom('Secret', 'Service', 'Pod', 'PersistentVolumeClaim', 'ConfigMap', 'Deployment', 'Weird'),
        metadata: fc.record(
          {
            name: text,
            namespace: text,
            uid: text,
            managedFields: json,
            annotations: fc.oneof(objectOf(fc.oneof(text, json)), json),
            labels: objectOf(text),
          },
          { requiredKeys: [] },
        ),
        spec: fc.oneof(objectOf(json), json),
        status: json,
        data: fc.oneof(objectOf(fc.oneof(text, json)), json),
        stringData: fc.oneof(objectOf(text), json),
        huge: hugeText,
      },
      { requiredKeys: [] },
    ),
    plainObjectOf(json),
  )
  .map(([k8s, extra]) => Object.assign(extra, k8s) as Record<string, unknown>);

export const anyObject = fc.oneof({ weight: 6, arbitrary: kubeLike }, { weight: 3, arbitrary: objectOf(json) }, { weight: 1, arbitrary: deepChain });

/** An `excludeFields` entry as a user might write it, valid or not (compile it and catch). */
const pathText = fc.oneof(text, fc.stringMatching(/^[a-z*.[\]"'\\0-9]{0,16}$/));
export const excludeFieldsEntry = fc.oneof(pathText, fc.record({ path: pathText, kinds: fc.array(fc.oneof(text, fc.constantFrom('Deployment', 'v1/Service', 'apps/v1/Deployment')), { maxLength: 2 }) }, { requiredKeys: ['path'] }));
