import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KnownHosts } from './known-hosts.ts';

const KEY_A = Buffer.from('0000000b7373682d6564323535313900000020' + 'aa'.repeat(32), 'hex');
const KEY_B = Buffer.from('0000000b7373682d6564323535313900000020' + 'bb'.repeat(32), 'hex');
const a = KEY_A.toString('base64');
const b = KEY_B.toString('base64');

function hashed(name: string): string {
  const salt = Buffer.from('0123456789abcdef0123');
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('KnownHosts', () => {
  it('accepts the listed key, names a changed one a mismatch and an absent host unknown', () => {
    const k = new KnownHosts(`# comment\n[127.0.0.1]:2222 ssh-ed25519 ${a}\ngit.example.com,10.0.0.1 ssh-ed25519 ${a} comment\n`);
    expect(k.verify('127.0.0.1', 2222, KEY_A)).toBe('ok');
    expect(k.verify('127.0.0.1', 2222, KEY_B)).toBe('mismatch');
    expect(k.verify('10.0.0.1', 22, KEY_A)).toBe('ok');
    // Port 22 and another port are different names, as in OpenSSH.
    expect(k.verify('127.0.0.1', 22, KEY_A)).toBe('unknown');
    expect(k.verify('other.example.com', 22, KEY_A)).toBe('unknown');
    expect(k.keyTypes('git.example.com', 22)).toEqual(['ssh-ed25519']);
  });

  it('understands hashed names, wildcards, negation and @revoked', () => {
    const k = new KnownHosts([
      `${hashed('[git.example.com]:2222')} ssh-ed25519 ${a}`,
      `*.corp.example,!bad.corp.example ssh-ed25519 ${b}`,
      `@revoked * ssh-ed25519 ${a}`,
    ].join('\n'));
    expect(k.verify('git.example.com', 2222, KEY_A)).toBe('mismatch'); // revoked everywhere
    expect(k.verify('x.corp.example', 22, KEY_B)).toBe('ok');
    expect(k.verify('bad.corp.example', 22, KEY_B)).toBe('unknown');
    expect(new KnownHosts(`${hashed('[git.example.com]:2222')} ssh-ed25519 ${a}`).verify('git.example.com', 2222, KEY_A)).toBe('ok');
  });

  it('trusts nothing when empty', () => {
    expect(new KnownHosts('').verify('127.0.0.1', 22, KEY_A)).toBe('unknown');
    expect(new KnownHosts('').keyTypes('127.0.0.1', 22)).toEqual([]);
  });
});
