// Opt-in reversible Secrets (issue 17 part 1): a kubescribe instance with secretEncryption writes
// each Secret as a SOPS file; the real `sops` CLI (built from the Go module proxy by
// e2e/sops/build.sh, cached) decrypts it with the team's age identity to the original values. No
// plaintext value, nor its base64, is anywhere in the history; re-applying the same Secret makes no
// commit; changing one key makes one commit whose diff touches that key's value only.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startInstance, type Instance } from './stack/instance.ts';
import { eventually, freshNamespace, git, kubectl, stackEnv } from './support.ts';

const exec = promisify(execFile);
const SOPS = join(process.env.KUBESCRIBE_CACHE ?? join(homedir(), '.cache/kubescribe'), 'sops-3.11.0/sops');

async function commits(inst: Instance, path: string): Promise<Array<{ sha: string; author: string; subject: string }>> {
  try {
    const out = await git(inst.git.repo, ['log', '--reverse', '--format=%H%x00%an%x00%s', 'main', '--', path]);
    return out.split('\n').filter(Boolean).map((l) => { const [sha = '', author = '', subject = ''] = l.split('\0'); return { sha, author, subject }; });
  } catch { return []; }
}

describe('Secrets encrypted with SOPS to age recipients', () => {
  let inst: Instance;
  let ns: string;
  let identity: string;
  let tmp: string;
  const path = (): string => `${ns}/core/secrets/db.yaml`;

  /** `sops --decrypt` of the file as committed in `sha`, with the team's identity. */
  async function decrypt(sha: string): Promise<{ data: Record<string, string>; metadata: { name: string; annotations?: Record<string, string> } }> {
    const file = join(tmp, `${sha}.yaml`);
    await writeFile(file, await git(inst.git.repo, ['show', `${sha}:${path()}`]));
    const { stdout } = await exec(SOPS, ['--decrypt', file], { env: { PATH: process.env.PATH, HOME: tmp, SOPS_AGE_KEY: identity } });
    return parse(stdout) as Awaited<ReturnType<typeof decrypt>>;
  }

  beforeAll(async () => {
    expect(existsSync(SOPS), `${SOPS} (built by scripts/install-deps.sh)`).toBe(true);
    tmp = await mkdtemp(join(tmpdir(), 'kubescribe-sops-e2e-'));
    identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    ns = await freshNamespace('sops');
    inst = await startInstance(stackEnv(), {
      name: 'sops', namespaces: [ns], resources: ['secrets', 'configmaps'],
      settings: (s) => { (s.git as Record<string, unknown>).secretEncryption = { ageRecipients: [recipient] }; },
    });
    await inst.startKubescribe();
  });
  afterAll(async () => {
    await inst?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('sops --decrypt restores the values; history holds no plaintext; same Secret again: no commit; one key changed: one commit', async () => {
    const stamp = Date.now();
    const values = { password: `hunter2-${stamp}`, user: `app-${stamp}`, 'ca.crt': `-----BEGIN CERTIFICATE-----\nMIIB${stamp}\n` };
    const manifest = (v: Record<string, string>): string => JSON.stringify({ apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'db', namespace: ns, labels: { app: 'shop' } }, stringData: v });

    await kubectl('alice', ['apply', '-f', '-'], manifest(values));
    const [created] = await eventually('the Secret committed', async () => { const l = await commits(inst, path()); return l.length >= 1 ? l : undefined; });
    expect(created!.author).toBe('alice');

    // The real sops decrypts it with the age identity to the original values; metadata is readable.
    const first = await decrypt(created!.sha);
    expect(Object.fromEntries(Object.entries(first.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]))).toEqual(values);
    const raw = parse(await git(inst.git.repo, ['show', `${created!.sha}:${path()}`])) as { metadata: { labels: Record<string, string> }; data: Record<string, string>; sops: { age: Array<{ recipient: string }> } };
    expect(raw.metadata.labels).toEqual({ app: 'shop' });
    for (const v of Object.values(raw.data)) expect(v).toMatch(/^ENC\[AES256_GCM,/);

    // Re-applying the same Secret (bob, with kubectl apply) makes no commit.
    await kubectl('bob', ['apply', '-f', '-'], manifest(values));
    // A ConfigMap change after it, recorded in order by the same writer: once it is in, the Secret's turn has passed.
    await kubectl('bob', ['create', 'configmap', 'after-reapply', '-n', ns, '--from-literal=x=1']);
    await eventually('the marker ConfigMap committed', async () => ((await commits(inst, `${ns}/core/configmaps/after-reapply.yaml`)).length === 1 ? true : undefined));
    expect(await commits(inst, path())).toHaveLength(1);

    // Changing one key makes one commit, by carol; decrypted, only that key differs.
    const changed = { ...values, password: `n3w-${stamp}` };
    await kubectl('carol', ['apply', '-f', '-'], manifest(changed));
    const log = await eventually('the change committed', async () => { const l = await commits(inst, path()); return l.length >= 2 ? l : undefined; });
    expect(log.map((c) => c.author)).toEqual(['alice', 'carol']);
    expect(log[1]!.subject).toBe(`UPDATE v1 secrets ${ns}/db`);
    const second = await decrypt(log[1]!.sha);
    const differing = Object.keys(second.data).filter((k) => second.data[k] !== first.data[k]);
    expect(differing).toEqual(['password']);
    expect(Buffer.from(second.data.password!, 'base64').toString('utf8')).toBe(changed.password);
    // The commit's diff touches that key's line, and no other value (the writer kept the data key).
    const diff = await git(inst.git.repo, ['show', '--format=', '--unified=0', log[1]!.sha, '--', path()]);
    const changedValues = diff.split('\n').filter((l) => /^[-+] {2}\S+: ENC\[/.test(l)).map((l) => l.slice(1).trim().split(':')[0]);
    expect(changedValues).toEqual(['password', 'password', 'mac', 'mac']); // the MAC covers every value: it changes too

    // Nowhere in the history: no value in plaintext nor in base64.
    const history = await git(inst.git.repo, ['log', '-p', '--all', '--format=%H %an %B']);
    for (const secret of [...Object.values(values), changed.password]) {
      expect(history).not.toContain(secret);
      expect(history).not.toContain(Buffer.from(secret).toString('base64'));
    }
  });
});
