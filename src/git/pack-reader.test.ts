import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writePack } from './build-pack.ts';
import { hashObject } from './blob-oid.ts';
import { PackReader } from './pack-reader.ts';

describe('pack reader', () => {
  it('reads every object back and keeps at most 16 MiB of them for later reads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pack-reader-'));
    const objects = Array.from({ length: 48 }, () => {
      const body = randomBytes(600 * 1024); // the size of a tree of 10,000 entries
      return { oid: hashObject('blob', body), type: 'blob' as const, body };
    });
    const { name } = await writePack(dir, objects);
    const reader = await PackReader.open(join(dir, `${name}.pack`));
    try {
      for (const o of objects) {
        const got = reader.read(o.oid, () => undefined);
        expect(got?.type).toBe('blob');
        expect(Buffer.compare(got!.body, o.body)).toBe(0);
        expect(reader.cachedBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
      }
      expect(reader.cachedBytes).toBeGreaterThan(0);
    } finally {
      reader.close();
    }
  });
});
