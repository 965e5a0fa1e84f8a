import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, KubescribeError, isTerminal } from './errors.ts';

describe('error catalogue', () => {
  it('is documented in docs/errors.md, code for code', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^## (KUBESCRIBE_ERR_[A-Z_]+)$/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ErrorCodes).sort());
    for (const [code, { terminal }] of Object.entries(ErrorCodes)) {
      const section = doc.split(`## ${code}\n`)[1]?.split('\n## ')[0] ?? '';
      expect(section.startsWith(terminal ? 'Terminal' : 'Retryable'), `${code} says whether it is terminal`).toBe(true);
    }
  });

  it('identifies errors by code and tells terminal from retryable', () => {
    expect(isTerminal(new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', 'x'))).toBe(true);
    expect(isTerminal(new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', 'x'))).toBe(false);
    expect(isTerminal(new Error('plain'))).toBe(false);
  });
});
