import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashObject } from './blob-oid.ts';
import { packPieces, type DeltaObject, type PackObject } from './build-pack.ts';
import { applyDelta, encodeDelta } from './delta.ts';

const exec = promisify(execFile);

/** A seeded pseudo-random source, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function edited(base: Buffer, rnd: () => number, edits: number): Buffer {
  let out = base;
  for (let k = 0; k < edits; k++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const cut = Math.floor(rnd() * Math.min(300, out.length - at + 1));
    const insert = Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
    out = Buffer.concat([out.subarray(0, at), insert, out.subarray(at + cut)]);
  }
  return out;
}

describe('git deltas', () => {
  it('rebuilds the target from the base, for edits anywhere, and stays small for one edit', () => {
    const rnd = random(7);
    const base = Buffer.from(Array.from({ length: 200_000 }, () => Math.floor(rnd() * 256)));
    const cases: Buffer[] = [
      base, Buffer.alloc(0), Buffer.from('x'), base.subarray(1), base.subarray(0, base.length - 1),
      Buffer.concat([Buffer.from('head'), base]), Buffer.concat([base, Buffer.from('tail')]),
    ];
    for (let i = 0; i < 40; i++) cases.push(edited(base, rnd, 1 + (i % 4)));
    for (const target of cases) {
      const delta = encodeDelta(base, target);
      expect(applyDelta(base, delta).equals(target)).toBe(true);
    }
    const one = edited(base, random(3), 1);
    expect(encodeDelta(base, one).length).toBeLessThan(400);
    expect(applyDelta(Buffer.alloc(0), encodeDelta(Buffer.alloc(0), base)).equals(base)).toBe(true);
  });

  it('splits copies longer than one instruction can say', () => {
    const base = Buffer.alloc(0x1000000 + 5000, 7);
    base.write('start', 0);
    const target = Buffer.concat([base.subarray(0, 0x1000000 + 100), Buffer.from('changed'), base.subarray(0x1000000 + 107)]);
    expect(applyDelta(base, encodeDelta(base, target)).equals(target)).toBe(true);
  });

  it('refuses deltas that do not fit their base', () => {
    const base = Buffer.from('0123456789');
    expect(() => applyDelta(Buffer.from('short'), encodeDelta(base, Buffer.from('012345x789')))).toThrow(/base size/);
    expect(() => applyDelta(base, Buffer.from([10, 5, 0x91, 8, 5]))).toThrow(/beyond the base/);
  });

  describe('in packs read by git', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'delta-pack-'));
      await exec('git', ['init', '--quiet', '--bare', dir]);
    });
    afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

    it.each([['offset', false], ['ref', true]])('git index-pack and fsck accept %s deltas, chained, and read them back byte for byte', async (_kind, refDelta) => {
      const rnd = random(11);
      const versions: Buffer[] = [Buffer.from(Array.from({ length: 50_000 }, (_, i) => 97 + (i % 26)))];
      for (let i = 0; i < 12; i++) versions.push(edited(versions[versions.length - 1]!, rnd, 1 + (i % 3)));
      const objects: (PackObject | DeltaObject)[] = [];
      versions.forEach((body, i) => {
        const oid = hashObject('blob', body);
        if (i === 0) objects.push({ oid, type: 'blob', body });
        else objects.push({ oid, type: 'blob', base: objects[i - 1]!.oid, delta: encodeDelta(versions[i - 1]!, body) });
      });
      const pack = Buffer.concat(packPieces(objects, { index: false, refDelta }).pieces);
      const file = join(dir, 'objects', 'pack', 'pack-incoming.pack');
      await writeFile(file, pack);
      await exec('git', ['--git-dir', dir, 'index-pack', '--strict', file]);
      await exec('git', ['--git-dir', dir, 'fsck', '--strict']);
      const verify = (await exec('git', ['verify-pack', '-v', file])).stdout;
      expect(verify).toMatch(/chain length = 12: 1 object/);
      for (const [i, o] of objects.entries()) {
        const { stdout } = await exec('git', ['--git-dir', dir, 'cat-file', 'blob', o.oid], { encoding: 'buffer', maxBuffer: 1 << 24 });
        expect(stdout.equals(versions[i]!)).toBe(true);
      }
    });

    it('refuses a delta whose base is not earlier in the pack', () => {
      const body = Buffer.from('x'.repeat(100));
      expect(() => packPieces([{ oid: hashObject('blob', body), type: 'blob', base: '0'.repeat(40), delta: encodeDelta(Buffer.alloc(0), body) }])).toThrow(/not earlier/);
    });
  });
});
