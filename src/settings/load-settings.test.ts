import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSecrets, loadSettingsFile, parseSettings } from './load-settings.ts';

const minimal = { git: { url: 'http://git.example/audit.git' }, webhook: { tlsCertFile: '/c', tlsKeyFile: '/k' } };

describe('settings', () => {
  it('fills in the documented defaults and freezes the result', () => {
    const s = parseSettings(minimal);
    expect(s.git?.branch).toBe('main');
    expect(s.git?.baseFolder).toBe('');
    expect(s.watch.resources).toEqual(['configmaps', 'secrets', 'services', 'deployments.apps']);
    expect(s.watch.namespaces.exclude).toEqual(['kube-*']);
    expect(s.webhook.port).toBe(9443);
    expect(Object.isFrozen(s.git)).toBe(true);
    expect(s.customResources.enabled).toBe(true);
    expect(parseSettings({ webhook: minimal.webhook }).git).toBeUndefined();
  });

  it('names every invalid field in one clear error', () => {
    expect(() => parseSettings({ git: { url: 'not a url', pushIntervalMs: -1 }, webhook: {} }))
      .toThrow(/git\.url.*git\.pushIntervalMs.*webhook\.tlsCertFile/s);
  });

  it('orders the lease timings as client-go does: retry period < renew deadline < lease duration', () => {
    expect(parseSettings(minimal).leaderElection).toMatchObject({ leaseDurationMs: 15_000, renewIntervalMs: 2_000 });
    expect(() => parseSettings({ ...minimal, leaderElection: { leaseDurationMs: 6000, renewDeadlineMs: 6000 } })).toThrow(/leaderElection\.renewDeadlineMs.*shorter than leaseDurationMs/s);
    expect(() => parseSettings({ ...minimal, leaderElection: { leaseDurationMs: 6000, renewIntervalMs: 4000 } })).toThrow(/leaderElection\.renewIntervalMs.*shorter than the renew deadline \(4000 ms\)/s);
    expect(parseSettings({ ...minimal, leaderElection: { leaseDurationMs: 4000, renewIntervalMs: 1000 } }).leaderElection.renewDeadlineMs).toBeUndefined(); // ⅔ of the duration, in the election
  });

  it('reports a missing or non-YAML file with its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'settings-'));
    expect(() => loadSettingsFile(join(dir, 'nope.yaml'))).toThrow(/cannot read settings file .*nope\.yaml/);
    writeFileSync(join(dir, 'bad.yaml'), 'git: [unclosed');
    expect(() => loadSettingsFile(join(dir, 'bad.yaml'))).toThrow(/not valid YAML/);
  });

  it('reads secrets from files at every use, and demands a Secret hash key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secrets-'));
    writeFileSync(join(dir, 'user'), 'scribe\n');
    writeFileSync(join(dir, 'pass'), 'one\n');
    writeFileSync(join(dir, 'key'), 'k'.repeat(32));
    const s = parseSettings({ ...minimal, git: { ...minimal.git, usernameFile: join(dir, 'user'), passwordFile: join(dir, 'pass') }, sanitize: { secretHashKeyFile: join(dir, 'key') } });
    const secrets = loadSecrets(s, {});
    expect(secrets.gitCredentials()).toEqual({ username: 'scribe', password: 'one' });
    writeFileSync(join(dir, 'pass'), 'two\n'); // rotated
    expect(secrets.gitCredentials()?.password).toBe('two');
    expect(() => loadSecrets(parseSettings(minimal), {})).toThrow(/Secret hash key/);
    expect(loadSecrets(parseSettings(minimal), { KUBESCRIBE_SECRET_HASH_KEY: 'x'.repeat(16), KUBESCRIBE_GIT_PASSWORD: 'p' }).gitCredentials()).toEqual({ username: '', password: 'p' });
  });

  it('refuses a peer secret without a CA to verify the peers with (never TLS without verification)', () => {
    const env = { KUBESCRIBE_SECRET_HASH_KEY: 'x'.repeat(16), KUBESCRIBE_PEER_SECRET: 'p'.repeat(24) };
    expect(() => loadSecrets(parseSettings(minimal), env)).toThrow(expect.objectContaining({ code: 'KUBESCRIBE_ERR_SETTINGS_INVALID', message: expect.stringMatching(/peers\.caFile/) }));
    expect(loadSecrets(parseSettings({ ...minimal, peers: { caFile: '/etc/kubescribe/tls/ca.crt' } }), env).peerSecret).toBe('p'.repeat(24));
    expect(loadSecrets(parseSettings(minimal), { KUBESCRIBE_SECRET_HASH_KEY: 'x'.repeat(16) }).peerSecret).toBeUndefined();
  });

  it('accepts SSH URLs and reads an SSH key, known_hosts and passphrase from files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssh-secrets-'));
    writeFileSync(join(dir, 'identity'), 'KEY\n');
    writeFileSync(join(dir, 'known_hosts'), 'git.example ssh-ed25519 AAAA\n');
    writeFileSync(join(dir, 'passphrase'), 'pp\n');
    for (const url of ['ssh://git@git.example:2222/audit.git', 'git@git.example:org/audit.git']) {
      const s = parseSettings({ ...minimal, git: { url, ssh: { identityFile: join(dir, 'identity'), knownHostsFile: join(dir, 'known_hosts'), passphraseFile: join(dir, 'passphrase') } } });
      expect(loadSecrets(s, { KUBESCRIBE_SECRET_HASH_KEY: 'x'.repeat(16) }).gitCredentials()).toEqual({
        username: '', password: '', ssh: { privateKey: 'KEY', knownHosts: 'git.example ssh-ed25519 AAAA', passphrase: 'pp' },
      });
    }
    expect(() => parseSettings({ ...minimal, git: { url: 'ftp://git.example/audit.git' } })).toThrow(/git\.url/);
  });
});
