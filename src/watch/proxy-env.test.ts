import { describe, expect, it } from 'vitest';
import { proxyFromEnv } from './proxy-env.ts';

describe('the proxy kubectl would use (Go ProxyFromEnvironment)', () => {
  const env = (noProxy: string) => ({ HTTPS_PROXY: 'proxy.example:3128', NO_PROXY: noProxy });
  it('uses HTTPS_PROXY (scheme http when none is given), never HTTP_PROXY, never for loopback', () => {
    expect(proxyFromEnv('https://api.example:6443', env(''))).toBe('http://proxy.example:3128');
    expect(proxyFromEnv('https://api.example:6443', { https_proxy: 'https://p:1' })).toBe('https://p:1');
    expect(proxyFromEnv('https://api.example:6443', { HTTP_PROXY: 'http://p:1' })).toBeUndefined();
    for (const s of ['https://localhost:6443', 'https://127.0.0.1:6443', 'https://127.5.0.1', 'https://[::1]:6443', 'https://[0:0:0:0:0:0:0:1]:1']) {
      expect(proxyFromEnv(s, env('')), s).toBeUndefined();
    }
  });

  it.each([
    ['example.com', 'https://example.com', false],
    ['example.com', 'https://api.example.com', false], // a domain matches its subdomains too
    ['.example.com', 'https://example.com', true], // a leading dot: subdomains only
    ['.example.com', 'https://api.example.com', false],
    ['*.example.com', 'https://api.example.com', false],
    ['notexample.com', 'https://example.com', true],
    ['example.com:6443', 'https://api.example.com:6443', false],
    ['example.com:443', 'https://api.example.com:6443', true],
    ['10.0.0.0/8', 'https://10.1.2.3:6443', false],
    ['10.0.0.0/8', 'https://11.1.2.3:6443', true],
    ['10.1.2.3', 'https://10.1.2.3:6443', false],
    ['*', 'https://anything.example', false],
    ['a.example, b.example', 'https://x.b.example', false],
  ])('NO_PROXY=%s, server %s → proxied: %s', (noProxy, server, proxied) => {
    expect(proxyFromEnv(server, env(noProxy)) !== undefined).toBe(proxied);
  });
});
