import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { KubescribeError } from '../errors.ts';
import { compileSanitizeOptions, type SanitizeConfig } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');

function settingsError(fn: () => unknown): KubescribeError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KubescribeError);
    expect((err as KubescribeError).code).toBe('KUBESCRIBE_ERR_SETTINGS_INVALID');
    expect((err as KubescribeError).terminal).toBe(true);
    return err as KubescribeError;
  }
  throw new Error('expected a settings error');
}

describe('compileSanitizeOptions', () => {
  it('requires a secret key: there is no fallback to a plain hash', () => {
    expect(settingsError(() => compileSanitizeOptions({} as SanitizeConfig)).message).toMatch(/secretKey.*required/);
    settingsError(() => compileSanitizeOptions({ secretKey: Buffer.alloc(0) }));
    settingsError(() => compileSanitizeOptions({ secretKey: 'a-string-key-of-enough-length' as unknown as Buffer }));
  });

  it('rejects keys shorter than 16 bytes, which would make markers guessable', () => {
    settingsError(() => compileSanitizeOptions({ secretKey: Buffer.alloc(15, 1) }));
    expect(() => compileSanitizeOptions({ secretKey: Buffer.alloc(16, 1) })).not.toThrow();
    expect(() => compileSanitizeOptions({ secretKey: new Uint8Array(32) })).not.toThrow();
  });

  it('offers no way to turn Secret redaction off', () => {
    const err = settingsError(() => compileSanitizeOptions({ secretKey: KEY, redactSecrets: false } as SanitizeConfig));
    expect(err.message).toMatch(/always redacted/);
  });

  it('rejects unknown options rather than ignoring a typo', () => {
    expect(settingsError(() => compileSanitizeOptions({ secretKey: KEY, excludeField: ['spec'] } as SanitizeConfig)).message).toContain('excludeField');
    settingsError(() => compileSanitizeOptions(null as unknown as SanitizeConfig));
  });

  it.each([
    [['spec..replicas'], 'excludeFields[0]'],
    [['spec.replicas', { path: 'spec[' }], 'excludeFields[1]'],
    [[{ path: 'spec.replicas', kinds: [] }], 'kinds'],
    [[{ path: 'spec.replicas', kinds: ['apps/v1/'] }], 'invalid kind'],
    [[{ path: 'spec.replicas', kinds: ['Deploy ment'] }], 'invalid kind'],
    [[{ path: 'spec.replicas', kind: 'Deployment' }], 'unknown field "kind"'],
    [[{ paths: 'x' }], 'path'],
    [[42], 'excludeFields[0]'],
    [['kind'], 'identity'],
    [['apiVersion'], 'identity'],
    [['metadata'], 'identity'],
    [['metadata.name'], 'identity'],
    [['metadata["namespace"]'], 'identity'],
    [['metadata.*'], 'identity'],
    [['*'], 'identity'],
  ])('rejects excludeFields %j', (excludeFields, message) => {
    const err = settingsError(() => compileSanitizeOptions({ secretKey: KEY, excludeFields } as unknown as SanitizeConfig));
    expect(err.message).toContain(message);
  });

  it('rejects excludeFields that is not a list', () => {
    settingsError(() => compileSanitizeOptions({ secretKey: KEY, excludeFields: 'spec.replicas' } as unknown as SanitizeConfig));
  });

  it('never shows the key when options are logged or serialized', () => {
    const options = compileSanitizeOptions({ secretKey: KEY });
    for (const text of [JSON.stringify(options), inspect(options, { showHidden: true, depth: null }), String(options)]) {
      expect(text).not.toContain(KEY.toString('hex'));
      expect(text).not.toContain(KEY.toString());
    }
  });

  it('copies the key: changing the caller buffer later changes nothing', () => {
    const key = Buffer.from(KEY);
    const options = compileSanitizeOptions({ secretKey: key });
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'value' } };
    const before = sanitize(secret, options);
    key.fill(0);
    expect(sanitize(secret, options)).toEqual(before);
  });

  it('returns frozen options', () => {
    expect(Object.isFrozen(compileSanitizeOptions({ secretKey: KEY }))).toBe(true);
  });
});
