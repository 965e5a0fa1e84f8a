import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube-object.ts';
import { canonicalJson } from './canonical-json.ts';
import { isRedactionMarker, REDACTION_MARKER_PREFIX } from './redaction-marker.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { SECRET_PASSWORD, SECRET_TOKEN, secretFixture } from './testing/fixtures.ts';
import { toYaml } from './to-yaml.ts';

const keyA = Buffer.alloc(32, 0xa);
const keyB = Buffer.alloc(32, 0xb);
const optionsA = compileSanitizeOptions({ secretKey: keyA });
const optionsB = compileSanitizeOptions({ secretKey: keyB });
const MARKER = /^redacted:hmac-sha256:[0-9a-f]{32}$/;

const expectedMarker = (key: Buffer, value: string | Buffer) => REDACTION_MARKER_PREFIX + createHmac('sha256', key).update(value).digest('hex').slice(0, 32);

/** Every form in which a value could leak: as is, base64, hex, and an unkeyed hash. */
function leakForms(value: string): string[] {
  const b = Buffer.from(value);
  return [value, b.toString('base64'), b.toString('base64').replace(/=+$/, ''), b.toString('hex'), createHash('sha256').update(b).digest('hex').slice(0, 32)];
}

describe('sanitize: Secret values', () => {
  const out = sanitize(secretFixture(), optionsA);

  it('replaces every data and stringData value by redacted:hmac-sha256:<32 hex> of the key', () => {
    const data = out.data as Record<string, string>;
    const stringData = out.stringData as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(['ca.crt', 'password']);
    for (const v of [...Object.values(data), ...Object.values(stringData)]) {
      expect(v).toMatch(MARKER);
      expect(isRedactionMarker(v)).toBe(true);
    }
    expect(data.password).toBe(expectedMarker(keyA, SECRET_PASSWORD));
    expect(stringData.token).toBe(expectedMarker(keyA, SECRET_TOKEN));
  });

  it('marks the decoded bytes of data, so data and stringData forms of a value match', () => {
    const asData: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: Buffer.from('s3cr3t').toString('base64') } };
    const asStringData: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { k: 's3cr3t' } };
    expect((sanitize(asData, optionsA).data as Record<string, string>).k).toBe((sanitize(asStringData, optionsA).stringData as Record<string, string>).k);
  });

  it('marks binary data by its bytes', () => {
    const bytes = Buffer.from([0, 255, 128, 10, 13]);
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { bin: bytes.toString('base64') } };
    expect((sanitize(secret, optionsA).data as Record<string, string>).bin).toBe(expectedMarker(keyA, bytes));
  });

  it('changes the marker when the value changes, and only then', () => {
    const changed = secretFixture();
    (changed.stringData as Record<string, string>).token = SECRET_TOKEN + 'x';
    const again = sanitize(secretFixture(), optionsA);
    expect(again).toEqual(out);
    expect((sanitize(changed, optionsA).stringData as Record<string, string>).token).not.toBe((out.stringData as Record<string, string>).token);
  });

  it('gives different markers under different keys', () => {
    const other = sanitize(secretFixture(), optionsB);
    expect((other.data as Record<string, string>).password).not.toBe((out.data as Record<string, string>).password);
    expect((other.data as Record<string, string>).password).toBe(expectedMarker(keyB, SECRET_PASSWORD));
  });

  it('writes no plaintext, base64, hex or plain hash of a value in canonicalJson or toYaml', () => {
    const texts = [canonicalJson(out), toYaml(out), JSON.stringify(out)];
    for (const value of [SECRET_PASSWORD, SECRET_TOKEN, '-----BEGIN CERTIFICATE-----']) {
      for (const form of leakForms(value)) for (const text of texts) expect(text).not.toContain(form);
    }
  });

  it('removes the last-applied annotation, which holds the values in plaintext', () => {
    expect(out.metadata!.annotations).toBeUndefined();
  });

  it('removes last-applied even when user rules for Secrets are configured', () => {
    const options = compileSanitizeOptions({
      secretKey: keyA,
      excludeFields: [{ path: 'metadata.annotations["example.com/other"]', kinds: ['Secret', 'v1/Secret'] }, { path: 'type', kinds: ['Secret'] }],
    });
    const obj = secretFixture();
    obj.metadata!.annotations!['example.com/keep'] = 'yes';
    const sanitized = sanitize(obj, options);
    expect(Object.keys(sanitized.metadata!.annotations!)).toEqual(['example.com/keep']);
    expect(sanitized.type).toBeUndefined();
    expect((sanitized.data as Record<string, string>).password).toMatch(MARKER);
    for (const form of leakForms(SECRET_PASSWORD)) expect(toYaml(sanitized)).not.toContain(form);
  });

  it('redacts the value of every annotation of a Secret (any may embed a copy), keeping the keys', () => {
    const obj = secretFixture();
    obj.metadata!.annotations = { ...obj.metadata!.annotations, 'tool.example.com/rendered': `password=${SECRET_PASSWORD}`, owner: 'team-a' };
    const sanitized = sanitize(obj, optionsA);
    const annotations = sanitized.metadata!.annotations!;
    expect(Object.keys(annotations).sort()).toEqual(['owner', 'tool.example.com/rendered']);
    expect(annotations['tool.example.com/rendered']).toBe(expectedMarker(keyA, `password=${SECRET_PASSWORD}`));
    expect(annotations.owner).toMatch(MARKER);
    for (const form of leakForms(SECRET_PASSWORD)) expect(toYaml(sanitized)).not.toContain(form);
    // Other kinds keep their annotations readable.
    const cm = sanitize({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', annotations: { owner: 'team-a' } } }, optionsA);
    expect(cm.metadata!.annotations).toEqual({ owner: 'team-a' });
  });

  it('lets a user leave a data key out entirely', () => {
    const options = compileSanitizeOptions({ secretKey: keyA, excludeFields: [{ path: 'data["ca.crt"]', kinds: ['Secret'] }] });
    expect(Object.keys(sanitize(secretFixture(), options).data as object)).toEqual(['password']);
  });

  it('redacts a Secret whose apiVersion was left out (list items come without it)', () => {
    const { apiVersion: _, ...withoutVersion } = secretFixture();
    const sanitized = sanitize(withoutVersion, optionsA);
    expect((sanitized.data as Record<string, string>).password).toMatch(MARKER);
    expect(sanitized.metadata!.uid).toBeUndefined();
  });

  it('redacts values that are not strings, and data that is not a map, without copying them', () => {
    const odd: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { n: 12345678, o: { nested: SECRET_PASSWORD }, nul: null }, stringData: SECRET_TOKEN };
    const sanitized = sanitize(odd, optionsA);
    const data = sanitized.data as Record<string, string>;
    expect(Object.keys(data)).toEqual(['n', 'o', 'nul']);
    for (const v of Object.values(data)) expect(v).toMatch(MARKER);
    expect(sanitized.stringData).toMatch(MARKER);
    const text = toYaml(sanitized);
    for (const form of [...leakForms(SECRET_PASSWORD), ...leakForms(SECRET_TOKEN), '12345678']) expect(text).not.toContain(form);
  });

  it('hashes data that is not canonical base64 as text rather than decoding it lossily', () => {
    const a: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'YQ==' } };
    const b: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'YR==' } }; // also decodes to "a"
    expect((sanitize(a, optionsA).data as Record<string, string>).k).toBe(expectedMarker(keyA, 'a'));
    expect((sanitize(b, optionsA).data as Record<string, string>).k).toBe(expectedMarker(keyA, 'YR=='));
  });

  it('leaves data of other kinds alone', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
    expect(sanitize(cm, optionsA).data).toEqual({ k: 'v' });
  });
});
