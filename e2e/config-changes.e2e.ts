// Configuration changes under load (issue 14, item 4): editing a GitRepoConfig's push settings and
// email template while alice, bob and carol change objects loses nothing — every change is in Git
// once, with its author. (Before, the destination was closed and reopened for such edits, and the
// changes that arrived while the old writer drained were dropped without a word.)
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBareRepo } from './stack/git-server.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv, type User } from './support.ts';

const apply = (obj: unknown): Promise<string> => kubectl('admin', ['apply', '-f', '-'], JSON.stringify(obj));

describe('configuration changes under load', () => {
  beforeAll(async () => {
    await eventually('the CRDs are served', async () => (await kubectl('admin', ['get', 'crd', 'watchrules.kubescribe.dev', '-o', 'name'])).includes('watchrules'));
  });

  it('editing a GitRepoConfig\'s push settings and email template loses no change', async () => {
    const env = stackEnv();
    const ns = await freshNamespace('cfg');
    const name = `cfg-${process.pid}-${Date.now().toString(36)}`;
    await createBareRepo(env.git.root, name, { defaultBranch: 'main' });
    const repo = join(env.git.root, `${name}.git`);
    const config = (interval: number, template: string) => ({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'GitRepoConfig', metadata: { name, namespace: ns }, spec: { url: env.git.url.replace(/audit\.git$/, `${name}.git`), secretRef: { name: 'git-creds' }, push: { intervalSeconds: interval }, commit: { authorEmailTemplate: template } } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'git-creds', namespace: ns }, stringData: { username: env.git.username, password: env.git.password } });
    await apply(config(1, '{user}@one.example'));
    await apply({ apiVersion: 'kubescribe.dev/v1alpha1', kind: 'WatchRule', metadata: { name: 'all', namespace: ns }, spec: { gitRepoConfigRef: { name }, rules: [{ apiGroups: [''], resources: ['configmaps'] }] } });
    await kubectl('admin', ['create', 'configmap', 'ready', '-n', ns]);
    // Recorded by a CREATE or by the rule's first reconcile, whichever comes first.
    await eventually('the rule records', async () => (await git(repo, ['ls-tree', '-r', '--name-only', 'main']).catch(() => '')).includes(`${ns}/core/configmaps/ready.yaml`), 60_000);

    const users: User[] = ['alice', 'bob', 'carol'];
    const perUser = 20;
    let done = false;
    const load = Promise.all(users.map(async (u) => {
      for (let i = 0; i < perUser; i++) await kubectl(u, ['create', 'configmap', `${u}-${i}`, '-n', ns, `--from-literal=i=${i}`]);
    })).finally(() => { done = true; });
    // Meanwhile the GitRepoConfig is edited again and again.
    let edits = 0;
    const settings: Array<[number, string]> = [[2, '{user}@two.example'], [1, '{user}@three.example'], [3, '{user}@four.example'], [1, '{user}@five.example']];
    while (!done) {
      const [interval, template] = settings[edits % settings.length]!;
      await apply(config(interval, template));
      edits++;
      await new Promise((r) => setTimeout(r, 400));
    }
    await load;
    const expected = users.flatMap((u) => Array.from({ length: perUser }, (_, i) => `${u} ${ns}/${u}-${i}`)).sort();
    const got = await eventually(`all ${expected.length} changes in Git`, async () => {
      const lines = (await git(repo, ['log', '--format=%an %s', 'main'])).split('\n').filter((l) => / CREATE v1 configmaps /.test(l) && !l.includes('/ready'));
      const seen = lines.map((l) => l.replace(' CREATE v1 configmaps ', ' ')).sort();
      return seen.length >= expected.length && seen;
    }, 90_000, 500).catch(async () => (await git(repo, ['log', '--format=%an %s', 'main'])).split('\n').filter((l) => / CREATE v1 configmaps /.test(l) && !l.includes('/ready')).map((l) => l.replace(' CREATE v1 configmaps ', ' ')).sort());
    process.stdout.write(`[config-changes] ${edits} edits of the GitRepoConfig during ${expected.length} changes: ${got.length} committed, ${expected.filter((e) => !got.includes(e)).length} lost\n`);
    expect(got).toEqual(expected); // each once, with its author
    // The last email template is in force.
    const last = settings[(edits - 1) % settings.length]![1].replace('{user}', '');
    await kubectl('alice', ['create', 'configmap', 'after', '-n', ns]);
    const email = await eventually('alice\'s last change', async () => (await git(repo, ['log', '-1', '--format=%ae', 'main', '--', `${ns}/core/configmaps/after.yaml`]).catch(() => '')).trim() || undefined);
    expect(email).toBe(`alice${last}`);
  });
});
