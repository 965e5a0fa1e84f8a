import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KubeObject } from '../kube-object.ts';
import { contentHash } from './content-hash.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { CONTENT_HASH_ANNOTATION, canEncrypt, sameEncryptedContent, sopsSecretFile, sopsSecretFileWithState } from './sops-secret.ts';
import { SECRET_PASSWORD, SECRET_TOKEN, secretFixture } from './testing/fixtures.ts';

const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 7) });
// The real sops CLI, built by e2e/sops/build.sh (scripts/install-deps.sh runs it).
const SOPS = join(process.env.KUBESCRIBE_CACHE ?? join(homedir(), '.cache/kubescribe'), 'sops-3.11.0/sops');

function decryptWithSops(file: string, identity: string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'kubescribe-sops-'));
  try {
    writeFileSync(join(dir, 'secret.yaml'), file);
    const out = execFileSync(SOPS, ['--decrypt', join(dir, 'secret.yaml')], {
      env: { PATH: process.env.PATH, SOPS_AGE_KEY: identity, HOME: dir }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
    return parse(out) as Record<string, unknown>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('sopsSecretFile', () => {
  const secret = (extra: Partial<KubeObject> = {}): KubeObject => {
    const s = secretFixture();
    return { ...s, ...extra, metadata: { ...s.metadata, labels: { app: 'shop', tier: 'db' }, annotations: { note: 'kept', replicas: '3' } } };
  };

  it.runIf(existsSync(SOPS))('writes a file that the real sops decrypts to the original values, metadata readable', async () => {
    const [alice, bob] = [await generateIdentity(), await generateIdentity()];
    const sanitized = sanitize(secret(), options);
    const file = await sopsSecretFile(sanitized, [await identityToRecipient(alice), await identityToRecipient(bob)]);

    const doc = parse(file) as { data: Record<string, string>; stringData: Record<string, string>; metadata: { name: string; labels: unknown }; type: string };
    expect(doc.metadata.name).toBe('shop-db');
    expect(doc.metadata.labels).toEqual({ app: 'shop', tier: 'db' });
    expect(doc.type).toBe('Opaque');
    for (const v of [...Object.values(doc.data), ...Object.values(doc.stringData)]) expect(v).toMatch(/^ENC\[AES256_GCM,data:/);
    for (const leak of [SECRET_PASSWORD, Buffer.from(SECRET_PASSWORD).toString('base64'), SECRET_TOKEN]) expect(file).not.toContain(leak);

    for (const identity of [alice, bob]) {
      const plain = decryptWithSops(file, identity);
      expect(plain.data).toEqual(secretFixture().data);
      expect(plain.stringData).toEqual({ token: SECRET_TOKEN });
      // Annotation values stay redacted (keyed hashes), as in the default mode.
      expect((plain.metadata as { annotations: Record<string, string> }).annotations).toEqual({ ...sanitized.metadata!.annotations, [CONTENT_HASH_ANNOTATION]: contentHash(sanitized) });
    }
  });

  it.runIf(existsSync(SOPS))('sops refuses a file whose readable part was altered (the MAC covers every value)', async () => {
    const id = await generateIdentity();
    const file = await sopsSecretFile(sanitize(secret(), options), [await identityToRecipient(id)]);
    expect(() => decryptWithSops(file.replace('tier: db', 'tier: web'), id)).toThrow(/MAC mismatch/);
  });

  it.runIf(existsSync(SOPS))('with the previous state, only a changed value gets a new ciphertext, and sops still decrypts it', async () => {
    const id = await generateIdentity();
    const recipient = await identityToRecipient(id);
    const first = await sopsSecretFileWithState(sanitize(secret(), options), [recipient], undefined);
    const data = { ...secretFixture().data as Record<string, string>, password: Buffer.from('changed').toString('base64') };
    const second = await sopsSecretFileWithState(sanitize(secret({ data }), options), [recipient], first.state);
    const enc = (text: string) => (parse(text) as { data: Record<string, string> }).data;
    expect(enc(second.text)['ca.crt']).toBe(enc(first.text)['ca.crt']);
    expect(enc(second.text).password).not.toBe(enc(first.text).password);
    expect((decryptWithSops(second.text, id).data as Record<string, string>).password).toBe(data.password);
    // Other recipients: a new data key, every value sealed again.
    const other = await sopsSecretFileWithState(sanitize(secret({ data }), options), [await identityToRecipient(await generateIdentity())], second.state);
    expect(enc(other.text)['ca.crt']).not.toBe(enc(second.text)['ca.crt']);
  });

  it('is randomized, yet an unchanged Secret is recognized and a changed value or recipient is not', async () => {
    const recipient = await identityToRecipient(await generateIdentity());
    const other = await identityToRecipient(await generateIdentity());
    const sanitized = sanitize(secret(), options);
    const a = await sopsSecretFile(sanitized, [recipient]);
    const b = await sopsSecretFile(sanitize(secret(), options), [recipient]);
    expect(a).not.toBe(b);
    expect(sameEncryptedContent(a, sanitize(secret(), options), [recipient])).toBe(true);
    const changed = secret({ data: { ...secretFixture().data as Record<string, string>, password: Buffer.from('new').toString('base64') } });
    expect(sameEncryptedContent(a, sanitize(changed, options), [recipient])).toBe(false);
    expect(sameEncryptedContent(a, sanitized, [recipient, other])).toBe(false);
    expect(sameEncryptedContent('not: [yaml', sanitized, [recipient])).toBe(false);
  });

  it('only a sanitized Secret carries its values, and they never show in its keys, JSON or YAML', () => {
    const sanitized = sanitize(secret(), options);
    expect(canEncrypt(sanitized)).toBe(true);
    expect(canEncrypt(sanitize({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { a: 'b' } }, options))).toBe(false);
    expect(JSON.stringify(sanitized)).not.toContain(SECRET_TOKEN);
    expect(Object.getOwnPropertySymbols(sanitized).every((s) => !Object.prototype.propertyIsEnumerable.call(sanitized, s))).toBe(true);
  });
});
