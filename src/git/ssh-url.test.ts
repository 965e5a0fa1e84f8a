import { describe, expect, it } from 'vitest';
import { isSshUrl, parseSshUrl } from './ssh-url.ts';

describe('parseSshUrl', () => {
  it.each([
    ['ssh://git@127.0.0.1:2222/audit.git', { user: 'git', host: '127.0.0.1', port: 2222, path: '/audit.git' }],
    ['ssh://git.example.com/org/repo.git', { user: 'git', host: 'git.example.com', port: 22, path: '/org/repo.git' }],
    ['ssh://deploy@[::1]:22/~/repo.git', { user: 'deploy', host: '::1', port: 22, path: '~/repo.git' }],
    ['git@github.com:org/repo.git', { user: 'git', host: 'github.com', port: 22, path: 'org/repo.git' }],
    ['git.example.com:repo.git', { user: 'git', host: 'git.example.com', port: 22, path: 'repo.git' }],
  ])('%s', (url, want) => {
    expect(isSshUrl(url)).toBe(true);
    expect(parseSshUrl(url)).toEqual(want);
  });

  it.each(['https://git.example.com/org/repo.git', 'http://127.0.0.1:8080/audit.git', '/srv/git/repo.git', 'file:///srv/repo.git'])('%s is not SSH', (url) => {
    expect(isSshUrl(url)).toBe(false);
    expect(parseSshUrl(url)).toBeUndefined();
  });
});
