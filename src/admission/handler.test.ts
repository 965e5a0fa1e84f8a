import { describe, expect, it } from 'vitest';
import type { Author } from '../correlation/index.ts';
import { createAdmissionHandler } from './handler.ts';
import type { AdmissionRequest } from './review.ts';

function request(n: number, userInfo: AdmissionRequest['userInfo'], fieldManager?: string): AdmissionRequest {
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `cm-${n}`, namespace: 'shop', uid: `uid-${n}`, resourceVersion: String(n + 1) }, data: { n: String(n) } };
  return {
    uid: `req-${n}`, operation: 'UPDATE', resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace: 'shop', name: `cm-${n}`,
    userInfo, object, oldObject: { ...object, metadata: { ...object.metadata, resourceVersion: String(n) } }, dryRun: false, ...(fieldManager ? { fieldManager } : {}),
  };
}

function recorder() {
  const authors: Author[] = [];
  const handler = createAdmissionHandler({ sink: { record: (_key, author) => authors.push(author) }, fingerprint: (o) => JSON.stringify(o.data) });
  return { handler, authors };
}

describe('admission handler: the authors it records', () => {
  it('records one shared, frozen author for every review of the same identity', () => {
    const { handler, authors } = recorder();
    handler.handle(request(1, { username: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'] }, 'kubectl-edit'));
    handler.handle(request(2, { username: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'] }, 'kubectl-edit'));
    expect(authors).toHaveLength(2);
    expect(authors[1]).toBe(authors[0]);
    expect(authors[0]).toEqual({ username: 'alice', uid: 'u-1', groups: ['devs', 'system:authenticated'], fieldManager: 'kubectl-edit' });
    expect(Object.isFrozen(authors[0])).toBe(true);
    expect(Object.isFrozen(authors[0]!.groups)).toBe(true);
  });

  it('keeps identities apart that differ in any field, however their characters split', () => {
    const identities: Array<[AdmissionRequest['userInfo'], string | undefined]> = [
      [{ username: 'ab', uid: 'c', groups: [] }, undefined],
      [{ username: 'a', uid: 'bc', groups: [] }, undefined],
      [{ username: 'a', uid: undefined, groups: ['bc'] }, undefined],
      [{ username: 'a', uid: '', groups: ['bc'] }, undefined],
      [{ username: 'a', uid: undefined, groups: ['b', 'c'] }, undefined],
      [{ username: 'a', uid: undefined, groups: ['b:1:c'] }, undefined],
      [{ username: 'a', uid: undefined, groups: ['b', 'c'] }, 'helm'],
      [{ username: 'a:1:b', uid: undefined, groups: [] }, undefined],
      [{ username: 'a', uid: '1:b', groups: [] }, undefined],
    ];
    const { handler, authors } = recorder();
    identities.forEach(([userInfo, fieldManager], n) => handler.handle(request(n, userInfo, fieldManager)));
    expect(new Set(authors).size).toBe(identities.length);
    authors.forEach((a, n) => {
      const [userInfo, fieldManager] = identities[n]!;
      expect(a).toEqual({ username: userInfo.username, uid: userInfo.uid, groups: userInfo.groups, ...(fieldManager ? { fieldManager } : {}) });
    });
  });

  it('still records correctly after more identities than it remembers', () => {
    const { handler, authors } = recorder();
    for (let n = 0; n < 1100; n++) handler.handle(request(n, { username: `user-${n}`, uid: undefined, groups: ['g'] }));
    handler.handle(request(5000, { username: 'user-3', uid: undefined, groups: ['g'] }));
    expect(authors.map((a) => a.username)).toEqual([...Array.from({ length: 1100 }, (_, n) => `user-${n}`), 'user-3']);
  });
});
