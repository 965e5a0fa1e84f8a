import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashObject } from './blob-oid.ts';
import { writePack } from './build-pack.ts';
import { PackCache, PackReader } from './pack-reader.ts';

/** A pack of `n` blobs of 0.6 MB (the size of a tree of 10,000 entries). */
async function bigPack(dir: string, n: number) {
  const objects = Array.from({ length: n }, () => {
    const body = randomBytes(600 * 1024);
    return { oid: hashObject('blob', body), type: 'blob' as const, body };
  });
  const { name } = await writePack(dir, objects);
  return { objects, path: join(dir, `${name}.pack`) };
}

describe('pack reader', () => {
  it('finds where each entry ends: the raw entries tile the pack and inflate to their objects', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pack-reader-'));
    // Sizes around the stored block (65,535 bytes) and a few bytes; their order in the pack is not their ids' order.
    const objects = [5, 70_000, 300, 131_071, 1].map((n, i) => {
      const body = Buffer.alloc(n, 97 + i);
      return { oid: hashObject('blob', body), type: 'blob' as const, body };
    });
    const { name } = await writePack(dir, objects);
    const reader = await PackReader.open(join(dir, `${name}.pack`));
    try {
      let total = 0;
      for (const o of objects) {
        const raw = reader.rawEntry(o.oid)!;
        total += raw.length;
        let at = 1;
        while (raw[at - 1]! & 0x80) at++; // the entry's type and size header
        expect(inflateSync(raw.subarray(at)).equals(o.body)).toBe(true);
      }
      expect(total).toBe(statSync(join(dir, `${name}.pack`)).size - 12 - 20); // all but the pack's header and trailer
    } finally {
      reader.close();
    }
  });

  it('reads every object back, keeping at most 16 MiB of them for later reads across all packs of a store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pack-reader-'));
    const cache = new PackCache();
    const packs = await Promise.all([0, 1, 2].map(async () => bigPack(dir, 16)));
    const readers = await Promise.all(packs.map((p) => PackReader.open(p.path, cache)));
    try {
      for (const [i, p] of packs.entries()) {
        for (const o of p.objects) {
          const got = readers[i]!.read(o.oid, () => undefined);
          expect(got?.type).toBe('blob');
          expect(Buffer.compare(got!.body, o.body)).toBe(0);
          expect(cache.cachedBytes).toBeLessThanOrEqual(16 * 1024 * 1024);
        }
      }
      expect(cache.cachedBytes).toBeGreaterThan(8 * 1024 * 1024);
    } finally {
      for (const r of readers) r.close();
    }
  });

  it('forgets what it read from a pack that is gone, and only that', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pack-reader-'));
    const cache = new PackCache();
    const packs = await Promise.all([0, 1].map(async () => bigPack(dir, 4)));
    const readers = await Promise.all(packs.map((p) => PackReader.open(p.path, cache)));
    try {
      for (const [i, p] of packs.entries()) for (const o of p.objects) readers[i]!.read(o.oid, () => undefined);
      expect(cache.cachedBytes).toBe(8 * 600 * 1024);
      cache.dropPack(readers[0]!.path);
      expect(cache.cachedBytes).toBe(4 * 600 * 1024);
      expect(cache.get(`${readers[1]!.path}#12`)).toBeDefined(); // the first entry after the 12-byte pack header
    } finally {
      for (const r of readers) r.close();
    }
  });
});
