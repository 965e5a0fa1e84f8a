import { describe, expect, it } from 'vitest';
import { KubescribeError } from '../errors.ts';
import { parseFieldPath } from './field-path.ts';

describe('parseFieldPath', () => {
  it.each([
    ['spec.replicas', [{ type: 'key', key: 'spec' }, { type: 'key', key: 'replicas' }]],
    ['status', [{ type: 'key', key: 'status' }]],
    ['metadata.annotations["example.com/x"]', [{ type: 'key', key: 'metadata' }, { type: 'key', key: 'annotations' }, { type: 'key', key: 'example.com/x' }]],
    ["metadata.labels['app.kubernetes.io/name']", [{ type: 'key', key: 'metadata' }, { type: 'key', key: 'labels' }, { type: 'key', key: 'app.kubernetes.io/name' }]],
    ['["a.b"].c', [{ type: 'key', key: 'a.b' }, { type: 'key', key: 'c' }]],
    ['data["say \\"hi\\"]"]', [{ type: 'key', key: 'data' }, { type: 'key', key: 'say "hi"]' }]],
    ['spec.containers[0].image', [{ type: 'key', key: 'spec' }, { type: 'key', key: 'containers' }, { type: 'index', index: 0 }, { type: 'key', key: 'image' }]],
    ['spec.containers[*].image', [{ type: 'key', key: 'spec' }, { type: 'key', key: 'containers' }, { type: 'any' }, { type: 'key', key: 'image' }]],
    ['spec.*.image', [{ type: 'key', key: 'spec' }, { type: 'any' }, { type: 'key', key: 'image' }]],
    ['data["*"]', [{ type: 'key', key: 'data' }, { type: 'key', key: '*' }]],
    ['data[""]', [{ type: 'key', key: 'data' }, { type: 'key', key: '' }]],
  ])('parses %s', (text, expected) => {
    expect(parseFieldPath(text)).toEqual(expected);
  });

  it.each(['', '.spec', 'spec.', 'spec..replicas', 'spec[', 'spec["x"', 'spec["x\\', 'spec[x]', 'spec[-1]', 'spec[01]', 'spec["x"]y', 'spec]', 'a[*'])(
    'rejects %j with a settings error naming the path',
    (text) => {
      let err: unknown;
      try {
        parseFieldPath(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(KubescribeError);
      expect((err as KubescribeError).code).toBe('KUBESCRIBE_ERR_SETTINGS_INVALID');
      expect((err as KubescribeError).message).toContain(JSON.stringify(text));
    },
  );
});
