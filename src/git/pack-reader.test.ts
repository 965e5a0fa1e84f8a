import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hashObject } from './blob-oid.ts';
import { writePack } from './build-pack.ts';
import { PackCache, PackReader } from './pack-reader.ts';

const exec = promisify(execFile);

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
  it('finds every id of its index and no other, as git verify-pack lists them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pack-reader-'));
    const objects = Array.from({ length: 3000 }, (_, i) => {
      const body = Buffer.from(`object ${i}\n`);
      return { oid: hashObject('blob', body), type: 'blob' as const, body };
    });
    const { name } = await writePack(dir, objects);
    const path = join(dir, `${name}.pack`);
    const listed = (await exec('git', ['verify-pack', '-v', path])).stdout.split('\n').filter((l) => /^[0-9a-f]{40} blob /.test(l)).map((l) => l.slice(0, 40));
    expect(new Set(listed)).toEqual(new Set(objects.map((o) => o.oid)));
    const reader = await PackReader.open(path);
    try {
      expect(reader.size).toBe(3000);
      for (const o of objects) expect(reader.read(o.oid, () => undefined)?.body.equals(o.body)).toBe(true);
      // The same first 8 digits but another id, the ends of the fan-out, and what is not an id.
      const last = (oid: string): string => oid.slice(0, 39) + (oid[39] === '0' ? '1' : '0');
      const absent = [...objects.slice(0, 200).map((o) => last(o.oid)), '0'.repeat(40), 'f'.repeat(40), objects[0]!.oid.slice(0, 39), ''];
      for (const oid of absent) {
        expect(reader.has(oid)).toBe(false);
        expect(reader.read(oid, () => undefined)).toBeUndefined();
        expect(reader.rawEntry(oid)).toBeUndefined();
      }
    } finally {
      reader.close();
    }
  });

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
