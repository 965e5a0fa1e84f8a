import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hashObject } from './blob-oid.ts';
import { packPieces, writePack } from './build-pack.ts';
import { encodeDelta } from './delta.ts';
import { freshBareRepoPerTest } from './testing/bare-repo.ts';

const exec = promisify(execFile);

describe('packPieces', () => {
  let dir: string;
  freshBareRepoPerTest('build-pack-', (d) => { dir = d; });

  // A big body spans several stored deflate blocks (at most 65,535 bytes each), written as pieces
  // pointing into it; small ones are one block; a delta follows its base.
  const big = Buffer.from(Array.from({ length: 6000 }, (_, i) => `line ${i} of a big object\n`).join(''));
  const next = Buffer.concat([big.subarray(0, 1000), Buffer.from('an inserted line\n'), big.subarray(1000)]);
  const objects = [
    { oid: hashObject('blob', Buffer.from('small\n')), type: 'blob' as const, body: Buffer.from('small\n') },
    { oid: hashObject('blob', big), type: 'blob' as const, body: big },
    { oid: hashObject('blob', next), type: 'blob' as const, base: hashObject('blob', big), delta: encodeDelta(big, next) },
  ];

  it('writes stored entries of several blocks that git verifies and reads back byte for byte', async () => {
    expect(big.byteLength).toBeGreaterThan(2 * 65535);
    const { name } = await writePack(join(dir, 'objects', 'pack'), objects);
    const verified = (await exec('git', ['verify-pack', '-v', join(dir, 'objects', 'pack', `${name}.idx`)])).stdout;
    expect(verified).toContain(objects[1]!.oid);
    for (const [o, body] of [[objects[0]!, 'small\n'], [objects[1]!, big.toString()], [objects[2]!, next.toString()]] as const) {
      expect((await exec('git', ['--git-dir', dir, 'cat-file', 'blob', o.oid], { maxBuffer: 1 << 24 })).stdout).toBe(body);
    }
  });

  it('writes the pack a push sends (ref deltas, no index), which git index-pack takes', async () => {
    const pack = Buffer.concat(packPieces(objects, { index: false, refDelta: true }).pieces);
    const out = join(dir, 'objects', 'pack', 'pushed.pack');
    await writeFile(out, pack);
    await exec('git', ['--git-dir', dir, 'index-pack', out]);
    expect((await exec('git', ['--git-dir', dir, 'cat-file', 'blob', objects[2]!.oid], { maxBuffer: 1 << 24 })).stdout).toBe(next.toString());
  });
});
