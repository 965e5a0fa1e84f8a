import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Change } from '../change.ts';
import type { KubeObject } from '../kube-object.ts';
import { blobOid } from './blob-oid.ts';
import { Recorder, type CommitTarget } from './recorder.ts';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { compileSanitizeOptions, sanitize, toYaml as realYaml } from '../sanitize/index.ts';

const toYaml = (o: KubeObject): string => `${JSON.stringify(o)}\n`;

function fakeTarget(initial: Record<string, string> = {}) {
  const files = new Map(Object.entries(initial).map(([p, c]) => [p, blobOid(c)]));
  const contents = new Map(Object.entries(initial));
  const commits: Array<Parameters<CommitTarget['commit']>[0]> = [];
  const target: CommitTarget = {
    files: () => files,
    readFile: async (path) => contents.get(path),
    async commit(input) {
      commits.push(input);
      for (const c of input.changes) {
        if (c.content === null) files.delete(c.path);
        else files.set(c.path, blobOid(c.content));
        if (c.content === null) contents.delete(c.path);
        else contents.set(c.path, c.content);
      }
      return `sha${commits.length}`;
    },
  };
  return { target, commits, files };
}

const cm = (ns: string, name: string, data: Record<string, string>): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data });
const type = { group: '', version: 'v1', resource: 'configmaps' };

function change(op: Change['operation'], obj: KubeObject, user?: string): Change {
  return { kind: 'change', type, operation: op, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', uid: 'u', resourceVersion: '7', object: obj, author: user ? { username: user, groups: ['devs', 'system:authenticated'] } : undefined, observedAt: new Date(1_700_000_000_000) };
}

describe('recorder', () => {
  it('writes one commit per change in the DESIGN format, authored by the user or unknown', async () => {
    const { target, commits } = fakeTarget();
    const r = new Recorder({ writer: target, baseFolder: 'clusters/dev', authorEmailTemplate: '{user}@example.com', toYaml, logger: pino({ level: 'silent' }) });
    await r.record(change('CREATE', cm('shop', 'settings', { a: '1' }), 'system:serviceaccount:shop:deployer'));
    await r.record(change('DELETE', cm('shop', 'settings', { a: '1' })));
    expect(commits).toHaveLength(2);
    expect(commits[0]!.changes).toEqual([{ path: 'clusters/dev/shop/core/configmaps/settings.yaml', content: toYaml(cm('shop', 'settings', { a: '1' })) }]);
    expect(commits[0]!.author).toEqual({ name: 'system:serviceaccount:shop:deployer', email: 'system-serviceaccount-shop-deployer@example.com', timestamp: 1_700_000_000 });
    expect(commits[0]!.message).toBe([
      'CREATE v1 configmaps shop/settings', '',
      'Kubescribe-Operation: CREATE', 'Kubescribe-Resource: v1/configmaps', 'Kubescribe-Object: shop/settings',
      'Kubescribe-User: system:serviceaccount:shop:deployer', 'Kubescribe-Groups: devs,system:authenticated', 'Kubescribe-Resource-Version: 7', '',
    ].join('\n'));
    const named = new Recorder({ writer: target, baseFolder: '', authorEmailTemplate: '{user}@x', toYaml, logger: pino({ level: 'silent' }), cluster: 'eu-1' });
    await named.record(change('CREATE', cm('shop', 'other', {}), 'alice'));
    expect(commits[2]!.message).toMatch(/\nKubescribe-Resource-Version: 7\nKubescribe-Cluster: eu-1\n$/);
    expect(commits[1]!.author.name).toBe('unknown');
    expect(commits[1]!.changes).toEqual([{ path: 'clusters/dev/shop/core/configmaps/settings.yaml', content: null }]);
  });

  it('skips a change whose content the branch already has (no duplicate after a restart)', async () => {
    const obj = cm('shop', 'a', { x: '1' });
    const { target, commits } = fakeTarget({ 'shop/core/configmaps/a.yaml': toYaml(obj) });
    const r = new Recorder({ writer: target, baseFolder: '', authorEmailTemplate: '{user}@x', toYaml, logger: pino({ level: 'silent' }) });
    await r.record(change('UPDATE', obj, 'alice'));
    await r.record(change('DELETE', cm('shop', 'gone', {}), 'alice'));
    expect(commits).toHaveLength(0);
  });

  it('reconciles: creates, updates and deletes only what differs, within its resource and namespaces', async () => {
    const { target, commits, files } = fakeTarget({
      'shop/core/configmaps/same.yaml': toYaml(cm('shop', 'same', { v: '1' })),
      'shop/core/configmaps/stale.yaml': toYaml(cm('shop', 'stale', { v: 'old' })),
      'shop/core/configmaps/deleted.yaml': 'x',
      'shop/core/secrets/other-type.yaml': 'x',
      'kube-system/core/configmaps/not-recorded.yaml': 'x',
      'README.md': 'x',
    });
    const r = new Recorder({ writer: target, baseFolder: '', authorEmailTemplate: '{user}@x', toYaml, logger: pino({ level: 'silent' }) });
    await r.record({ kind: 'reconcile', type, reason: 'start-up', recorded: (ns) => ns !== 'kube-system', objects: [cm('shop', 'same', { v: '1' }), cm('shop', 'stale', { v: 'new' }), cm('shop', 'fresh', { v: '1' })] });
    expect(commits).toHaveLength(1);
    expect(commits[0]!.author.name).toBe('kubescribe');
    expect(commits[0]!.message).toMatch(/^RECONCILE v1 configmaps \(3 objects\)\n/);
    expect(commits[0]!.message).toMatch(/^created shop\/fresh$/m);
    expect(commits[0]!.message).toMatch(/^updated shop\/stale$/m);
    expect(commits[0]!.message).toMatch(/^deleted shop\/deleted$/m);
    expect(commits[0]!.message).toMatch(/^Kubescribe-Operation: RECONCILE$/m);
    expect([...files.keys()].sort()).toEqual(['README.md', 'kube-system/core/configmaps/not-recorded.yaml', 'shop/core/configmaps/fresh.yaml', 'shop/core/configmaps/same.yaml', 'shop/core/configmaps/stale.yaml', 'shop/core/secrets/other-type.yaml']);
    await r.record({ kind: 'reconcile', type, reason: 'periodic', recorded: () => true, objects: [cm('shop', 'same', { v: '1' }), cm('shop', 'stale', { v: 'new' }), cm('shop', 'fresh', { v: '1' }), cm('kube-system', 'not-recorded', {})].slice(0, 3) });
    expect(commits).toHaveLength(2); // kube-system's file is now in scope and absent: deleted
  });
});

describe('recorder: Secrets encrypted with SOPS', () => {
  const secretType = { group: '', version: 'v1', resource: 'secrets' };
  const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
  const secret = (password: string): KubeObject => sanitize({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: Buffer.from(password).toString('base64'), user: Buffer.from('app').toString('base64') } }, options);
  const secretChange = (op: Change['operation'], obj: KubeObject): Change => ({ ...change(op, obj, 'alice'), type: secretType });

  it('writes a SOPS file, commits nothing for the same values, one commit when a value changes', async () => {
    const recipient = await identityToRecipient(await generateIdentity());
    const { target, commits } = fakeTarget();
    const r = new Recorder({ writer: target, baseFolder: '', authorEmailTemplate: '{user}@x', toYaml: realYaml, logger: pino({ level: 'silent' }), ageRecipients: [recipient] });
    await r.record(secretChange('CREATE', secret('s3cret')));
    await r.record(secretChange('UPDATE', secret('s3cret'))); // re-applied: same values
    await r.record({ kind: 'reconcile', type: secretType, reason: 'start-up', recorded: () => true, objects: [secret('s3cret')] });
    expect(commits).toHaveLength(1);
    const file = commits[0]!.changes[0]!.content!;
    expect(file).toMatch(/^sops:$/m);
    expect(file).not.toContain(Buffer.from('s3cret').toString('base64'));
    await r.record(secretChange('UPDATE', secret('n3w')));
    expect(commits).toHaveLength(2);
    await r.record({ kind: 'reconcile', type: secretType, reason: 'periodic', recorded: () => true, objects: [secret('other')] });
    expect(commits).toHaveLength(3);
    expect(commits[2]!.message).toMatch(/^updated shop\/db$/m);
  });
});

describe('recorder checkpoints', () => {
  it('records how far each type is in the branch, and skips what a replay brings again', async () => {
    const { Checkpoints, CHECKPOINT_PATH } = await import('./checkpoints.ts');
    const { target, commits } = fakeTarget();
    const checkpoints = await Checkpoints.load(async () => undefined);
    const r = new Recorder({ writer: target, baseFolder: 'b', authorEmailTemplate: '{user}@x', toYaml, logger: pino({ level: 'silent' }), checkpoints });
    const at = (rv: string, data: Record<string, string>): Change => ({ ...change('UPDATE', cm('shop', 'a', data), 'alice'), resourceVersion: rv });
    await r.record(at('100', { v: '1' }));
    expect(commits[0]!.changes.map((c) => c.path)).toEqual(['b/shop/core/configmaps/a.yaml', CHECKPOINT_PATH]);
    expect(JSON.parse(commits[0]!.changes[1]!.content!)).toEqual({ resourceVersions: { 'b|core/configmaps': '100' } });
    await r.record(at('99', { v: 'old' })); // replayed from an older checkpoint: already in the branch
    expect(commits).toHaveLength(1);
    await r.record({ kind: 'reconcile', type, reason: 'start-up', recorded: () => true, objects: [], resourceVersion: '50' }); // an older list must not take the branch back
    expect(commits).toHaveLength(1);
    await r.record(at('120', { v: '2' }));
    expect(JSON.parse(commits[1]!.changes[1]!.content!)).toEqual({ resourceVersions: { 'b|core/configmaps': '120' } });
    await r.record({ kind: 'reconcile', type, reason: 'periodic', recorded: () => true, objects: [cm('shop', 'a', { v: '2' })], resourceVersion: '130' });
    expect(commits).toHaveLength(2); // nothing differs: no commit, but the checkpoint moves on in memory
    expect(checkpoints.get('b|core/configmaps')).toBe('130');
  });
});
