// The file system the CLI hands isomorphic-git for reading history. isomorphic-git looks every
// object up by first trying its loose file and then listing objects/pack: two failing system
// calls per object, which dominate a walk over thousands of commits. The CLI never writes to a
// repository while it reads it, so directory listings are remembered for the whole run and a
// file missing from its folder's listing fails at once, and stat results are kept; writes are
// refused outright.

import { promises as fsp, type Stats } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { PromiseFsClient } from 'isomorphic-git';

// isomorphic-git only looks at `code` of a failed read and then returns null, so one shared
// error serves every miss (building one with a stack trace per missing loose object is costly).
const NOT_FOUND = Object.freeze(Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT', errno: -2 }));

export function readOnlyFs(): PromiseFsClient {
  const listings = new Map<string, Promise<ReadonlySet<string> | undefined>>();
  const list = (dir: string): Promise<ReadonlySet<string> | undefined> => {
    let listing = listings.get(dir);
    if (!listing) {
      listing = fsp.readdir(dir).then(
        (names) => new Set(names),
        () => undefined,
      );
      listings.set(dir, listing);
    }
    return listing;
  };
  const present = async (path: string): Promise<void> => {
    if (!(await list(dirname(path)))?.has(basename(path))) throw NOT_FOUND;
  };
  // isomorphic-git stats the gitdir on every call: remember what stat said.
  const stats = new Map<string, Promise<Stats>>();
  const stat = (path: string, how: 'stat' | 'lstat'): Promise<Stats> => {
    const key = `${how}:${path}`;
    let result = stats.get(key);
    if (!result) {
      result = present(path).then(() => fsp[how](path));
      stats.set(key, result);
    }
    return result;
  };
  const refuse = async (): Promise<never> => {
    throw Object.assign(new Error('kubescribe reads this repository only'), { code: 'EROFS' });
  };
  return {
    promises: {
      readFile: async (path: string, options?: unknown) => {
        // isomorphic-git probes with readFile() (no path) on every call to see if it returns a promise.
        if (typeof path !== 'string') throw NOT_FOUND;
        await present(path);
        return fsp.readFile(path, options as Parameters<typeof fsp.readFile>[1]);
      },
      stat: (path: string) => stat(path, 'stat'),
      lstat: (path: string) => stat(path, 'lstat'),
      readdir: async (path: string) => {
        const names = await list(path);
        if (!names) throw NOT_FOUND;
        return [...names];
      },
      readlink: (path: string) => fsp.readlink(path),
      writeFile: refuse,
      unlink: refuse,
      mkdir: refuse,
      rmdir: refuse,
      symlink: refuse,
      chmod: refuse,
    },
  };
}
