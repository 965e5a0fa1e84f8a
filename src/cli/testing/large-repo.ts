// A large audit repository for checking that the CLI stays fast: `files` objects in one initial
// reconcile commit, then `commits` single-object updates spread over them by several users, one
// a minute. Built with `git fast-import` (a pack file, as a clone has), in about a second.
// Object `ns-0/apps/deployments/obj-0` is changed by every `stride`-th commit.

import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';

export interface LargeRepoOptions {
  readonly files: number;
  readonly commits: number;
  readonly stride: number;
  readonly start: Date;
}

const NAMESPACES = 20;
const TYPES = [
  { gv: 'apps/v1', group: 'apps', resource: 'deployments', kind: 'Deployment' },
  { gv: 'v1', group: 'core', resource: 'configmaps', kind: 'ConfigMap' },
  { gv: 'v1', group: 'core', resource: 'services', kind: 'Service' },
  { gv: 'v1', group: 'core', resource: 'secrets', kind: 'Secret' },
  { gv: 'networking.k8s.io/v1', group: 'networking.k8s.io', resource: 'ingresses', kind: 'Ingress' },
];
const USERS = ['alice', 'bob', 'carol', 'system:serviceaccount:ci:deployer', 'unknown'];

function object(i: number): { path: string; gv: string; resource: string; ns: string; name: string; kind: string } {
  const ns = `ns-${i % NAMESPACES}`;
  const t = TYPES[Math.floor(i / NAMESPACES) % TYPES.length] ?? TYPES[0]!;
  const name = `obj-${Math.floor(i / (NAMESPACES * TYPES.length))}`;
  return { path: `${ns}/${t.group}/${t.resource}/${name}.yaml`, gv: t.gv, resource: t.resource, ns, name, kind: t.kind };
}

const yaml = (o: ReturnType<typeof object>, generation: number): string =>
  `apiVersion: ${o.gv}\nkind: ${o.kind}\nmetadata:\n  name: ${o.name}\n  namespace: ${o.ns}\nspec:\n  generation: ${generation}\n  padding:\n${'    - some stable line\n'.repeat(20)}`;

export async function buildLargeRepo(dir: string, options: LargeRepoOptions): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', dir]);
  const start = Math.floor(options.start.getTime() / 1000);
  const out: string[] = [];
  const data = (text: string): string => `data ${Buffer.byteLength(text)}\n${text}`;

  out.push('commit refs/heads/main', 'mark :1', `author kubescribe <kubescribe@local> ${start} +0000`, `committer kubescribe <kubescribe@local> ${start} +0000`);
  out.push(data('RECONCILE initial (many objects)\n\nKubescribe-Operation: RECONCILE\nKubescribe-User: kubescribe\n'));
  for (let i = 0; i < options.files; i++) {
    const o = object(i);
    out.push(`M 100644 inline ${o.path}`, data(yaml(o, 0)));
  }
  for (let c = 1; c <= options.commits; c++) {
    // Every stride-th commit changes object 0; the others one pseudo-random object.
    const i = c % options.stride === 0 ? 0 : 1 + ((c * 7919) % (options.files - 1));
    const o = object(i);
    const user = USERS[c % USERS.length] ?? 'unknown';
    const t = start + c * 60;
    const object_ = `${o.ns}/${o.name}`;
    out.push('commit refs/heads/main', `mark :${c + 1}`, `author ${user} <u@local> ${t} +0000`, `committer kubescribe <kubescribe@local> ${t} +0000`);
    out.push(data(`UPDATE ${o.gv} ${o.resource} ${object_}\n\nKubescribe-Operation: UPDATE\nKubescribe-Resource: ${o.gv}/${o.resource}\nKubescribe-Object: ${object_}\nKubescribe-User: ${user}\nKubescribe-Groups: system:authenticated\nKubescribe-Resource-Version: ${1000 + c}\n`));
    out.push(`from :${c}`, `M 100644 inline ${o.path}`, data(yaml(o, c)));
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: dir, input: `${out.join('\n')}\n`, maxBuffer: 1 << 30 });
}
