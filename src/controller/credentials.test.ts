import { describe, expect, it, vi } from 'vitest';
import { CredentialsSource, parseGitSecret } from './credentials.ts';
import { FakeSecrets } from './testing/fakes.ts';

describe('CredentialsSource', () => {
  it('watches the Secret each repository names; pending, with nothing to report, until it is listed', () => {
    const secrets = new FakeSecrets();
    let changes = 0;
    const source = new CredentialsSource({ watchSecret: secrets.watch, onChange: () => changes++ });
    source.sync([{ key: 'team/audit', secret: { namespace: 'team', name: 'git' } }, { key: 'settings' }]);
    expect([...secrets.watching.keys()]).toEqual(['team/git']);
    expect(source.pending('team/audit')).toBe(true);
    expect(source.problem('team/audit')).toBeUndefined(); // being read is not a problem
    expect(source.pending('settings')).toBe(false);
    expect(source.problem('settings')).toBeUndefined();
    secrets.set('team/git', { username: 'scribe', password: 'pw' });
    expect(changes).toBe(1);
    expect(source.pending('team/audit')).toBe(false);
    expect(source.problem('team/audit')).toBeUndefined();
    expect(source.get('team/audit')).toEqual({ username: 'scribe', password: 'pw' });
  });

  it('a Secret not read within the grace is reported (onChange at its end), and no longer pending', () => {
    vi.useFakeTimers();
    try {
      const secrets = new FakeSecrets();
      let changes = 0;
      const source = new CredentialsSource({ watchSecret: secrets.watch, onChange: () => changes++, graceMs: 1_000 });
      source.sync([{ key: 'r', secret: { namespace: 'other', name: 'git' } }]);
      vi.advanceTimersByTime(999);
      expect([source.pending('r'), source.problem('r'), changes]).toEqual([true, undefined, 0]);
      vi.advanceTimersByTime(1);
      expect(changes).toBe(1);
      expect(source.pending('r')).toBe(false);
      expect(source.problem('r')).toEqual({ reason: 'SecretNotFound', message: expect.stringMatching(/could not read the Secret other\/git within 1 s/) });
      secrets.set('other/git', { token: 't' }); // read at last
      expect(source.problem('r')).toBeUndefined();
      // A Secret read in time, or no longer named, never calls back at the grace's end.
      source.sync([{ key: 'r2', secret: { namespace: 'n', name: 'a' } }, { key: 'r3', secret: { namespace: 'n', name: 'b' } }]);
      secrets.set('n/a', { token: 't' });
      source.sync([{ key: 'r2', secret: { namespace: 'n', name: 'a' } }]);
      const before = changes;
      vi.advanceTimersByTime(5_000);
      expect(changes).toBe(before);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reads a fixed Secret at the next get, without a new watch', () => {
    const secrets = new FakeSecrets();
    const source = new CredentialsSource({ watchSecret: secrets.watch, onChange: () => undefined });
    source.sync([{ key: 'r', secret: { namespace: 'n', name: 's' } }]);
    secrets.set('n/s', { nothing: 'here' });
    expect(source.problem('r')?.reason).toBe('SecretInvalid');
    secrets.set('n/s', { token: 't0ken' });
    expect(source.get('r')).toEqual({ username: 'x-access-token', password: 't0ken' });
    source.sync([{ key: 'r', secret: { namespace: 'n', name: 's' } }]);
    expect(secrets.stopped).toEqual([]);
  });

  it('stops the watch of a Secret no longer named, and watches the new name', () => {
    const secrets = new FakeSecrets();
    const source = new CredentialsSource({ watchSecret: secrets.watch, onChange: () => undefined });
    source.sync([{ key: 'r', secret: { namespace: 'n', name: 'old' } }]);
    source.sync([{ key: 'r', secret: { namespace: 'n', name: 'new' } }]);
    expect(secrets.stopped).toEqual(['n/old']);
    expect([...secrets.watching.keys()]).toEqual(['n/new']);
    source.sync([]);
    expect(secrets.stopped).toEqual(['n/old', 'n/new']);
  });
});

describe('parseGitSecret', () => {
  const secret = (data: Record<string, string>) => ({ data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
  it.each([
    ['Flux SSH', { identity: 'KEY', known_hosts: 'host ssh-ed25519 AAA', password: 'pp' }, { username: '', password: '', ssh: { privateKey: 'KEY', passphrase: 'pp', knownHosts: 'host ssh-ed25519 AAA' } }],
    ['Argo CD SSH', { sshPrivateKey: 'KEY' }, { username: '', password: '', ssh: { privateKey: 'KEY', passphrase: undefined, knownHosts: '' } }],
    ['token', { token: 'T', username: 'bot' }, { username: 'bot', password: 'T' }],
    ['basic auth', { username: 'u', password: 'p' }, { username: 'u', password: 'p' }],
  ])('%s', (_name, data, creds) => {
    expect(parseGitSecret('n/s', secret(data))).toEqual({ creds });
  });

  it('names the Secret and the keys it looked for, never a value', () => {
    const r = parseGitSecret('n/s', secret({ apiKey: 'hunter2' }));
    expect(r).toEqual({ problem: { reason: 'SecretInvalid', message: expect.stringContaining('Secret n/s has none of the keys') } });
    expect(JSON.stringify(r)).not.toContain('hunter2');
    expect(parseGitSecret('n/s', undefined)).toEqual({ problem: { reason: 'SecretNotFound', message: 'Secret n/s does not exist' } });
  });
});
