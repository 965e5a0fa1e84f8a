import { describe, expect, it } from 'vitest';
import { withHeadSymref } from './head-symref.ts';

const pkt = (s: string): string => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
const oid = 'a'.repeat(40);
const advert = (first: string, rest: string[] = []): Buffer => Buffer.from(`${pkt('# service=git-upload-pack\n')}0000${pkt(first)}${rest.map(pkt).join('')}0000`);

describe('withHeadSymref', () => {
  it('names HEAD when the remote advertises none (its default branch does not exist)', () => {
    const out = withHeadSymref(advert(`${oid} refs/heads/b0\0multi_ack side-band-64k\n`, [`${'b'.repeat(40)} refs/heads/b1\n`]), 'b1').toString();
    expect(out).toBe(advert(`${oid} refs/heads/b0\0multi_ack side-band-64k symref=HEAD:refs/heads/b1\n`, [`${'b'.repeat(40)} refs/heads/b1\n`]).toString());
  });

  it('leaves an advertisement with HEAD, or with a HEAD symref, unchanged', () => {
    const withHead = advert(`${oid} HEAD\0multi_ack symref=HEAD:refs/heads/main\n`, [`${oid} refs/heads/main\n`]);
    expect(withHeadSymref(withHead, 'b1')).toEqual(withHead);
    const empty = Buffer.from(`${pkt('# service=git-upload-pack\n')}00000000`);
    expect(withHeadSymref(empty, 'b1')).toEqual(empty);
  });
});
