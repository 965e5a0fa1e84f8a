import { describe, expect, it } from 'vitest';
import type { CommitSigner } from '../git/index.ts';
import { SigningKeys } from './signing-keys.ts';
import { FakeSecrets } from './testing/fakes.ts';

const fakeSigner = (key: string): CommitSigner => ({ format: 'ssh', publicKey: `pub-of-${key}`, fingerprint: `fp-${key}`, sign: async () => 'sig' });

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

describe('SigningKeys', () => {
  it('refuses until the Secret is read, then signs with its key; a repository without signing is unsigned', async () => {
    const secrets = new FakeSecrets();
    let changes = 0;
    const keys = new SigningKeys({ watchSecret: secrets.watch, load: async (k) => fakeSigner(k), onChange: () => changes++ });
    keys.sync([{ key: 'team/audit', signingSecret: { namespace: 'team', name: 'signing' } }, { key: 'team/plain' }]);
    expect(keys.signing('team/audit')).toEqual({ problem: expect.stringContaining('being read') });
    expect(keys.pending('team/audit')).toBe(true); // nothing to report while it is read
    expect(keys.signing('team/plain')).toBeUndefined();
    expect(keys.pending('team/plain')).toBe(false);
    secrets.set('team/signing', { 'signing.key': 'K1' });
    await until(() => changes === 1);
    expect(keys.signing('team/audit')).toEqual({ signer: expect.objectContaining({ fingerprint: 'fp-K1' }) });
    expect(keys.pending('team/audit')).toBe(false);
  });

  it('a signing Secret not read within the grace is a problem that says so; commits stay refused', async () => {
    const secrets = new FakeSecrets();
    let changes = 0;
    const keys = new SigningKeys({ watchSecret: secrets.watch, load: async (k) => fakeSigner(k), onChange: () => changes++, graceMs: 20 });
    keys.sync([{ key: 'r', signingSecret: { namespace: 'other', name: 'signing' } }]);
    await until(() => changes === 1);
    expect(keys.pending('r')).toBe(false);
    expect(keys.signing('r')).toEqual({ problem: 'could not read the signing Secret other/signing within 0.02 s; still trying' });
    secrets.set('other/signing', { 'signing.key': 'K1' });
    await until(() => changes === 2);
    expect(keys.signing('r')).toEqual({ signer: expect.objectContaining({ fingerprint: 'fp-K1' }) });
  });

  it('a Secret without signing.key, or a key that does not load, is a problem that names the Secret, never the key', async () => {
    const secrets = new FakeSecrets();
    let changes = 0;
    const keys = new SigningKeys({ watchSecret: secrets.watch, load: async () => { throw new Error('signing.key is neither …'); }, onChange: () => changes++ });
    keys.sync([{ key: 'r', signingSecret: { namespace: 'n', name: 's' } }]);
    secrets.set('n/s', { other: 'x' });
    await until(() => changes === 1);
    expect(keys.signing('r')).toEqual({ problem: 'the signing Secret n/s has no signing.key' });
    secrets.set('n/s', { 'signing.key': 'TOP-SECRET-KEY' });
    await until(() => changes === 2);
    expect(JSON.stringify(keys.signing('r'))).toContain('n/s');
    expect(JSON.stringify(keys.signing('r'))).not.toContain('TOP-SECRET-KEY');
  });

  it('loads a key once per change of the Secret, and stops watching a Secret no longer named', async () => {
    const secrets = new FakeSecrets();
    let loads = 0;
    const keys = new SigningKeys({ watchSecret: secrets.watch, load: async (k) => { loads++; return fakeSigner(k); }, onChange: () => undefined });
    keys.sync([{ key: 'r', signingSecret: { namespace: 'n', name: 's' } }]);
    secrets.set('n/s', { 'signing.key': 'K' });
    secrets.set('n/s', { 'signing.key': 'K' });
    await until(() => loads === 1);
    keys.sync([{ key: 'r' }]);
    expect(secrets.stopped).toEqual(['n/s']);
    expect(keys.signing('r')).toBeUndefined();
  });
});
