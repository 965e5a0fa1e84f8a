// A synthetic audit repository that follows the DESIGN contracts to the letter (layout, subject,
// trailers, authors), for the CLI's tests and for checking the commands of docs/browsing.md.
// The story: alice creates ConfigMap shop/settings, bob changes one key, carol deletes it; alice
// creates Deployment shop/web, bob scales it 1 → 3; a reconcile by kubescribe touches two
// Deployments (changes web's image, adds api); a service account creates ClusterRole view; an
// unknown user creates Service shop/web; alice creates a custom resource (widgets.example.com)
// shop/gizmo. One commit an hour from `start`.
//
// Build one by hand: npx tsx src/cli/testing/audit-repo.ts <dir> [<start ISO date>] [<base folder>]

import fs from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { add, commit, init, remove } from 'isomorphic-git';

export const STORY = ['cmCreate', 'cmUpdate', 'cmDelete', 'deployCreate', 'deployScale', 'reconcile', 'clusterRoleCreate', 'serviceCreate', 'widgetCreate'] as const;
export type Step = (typeof STORY)[number];

export interface AuditRepo {
  readonly dir: string;
  readonly baseFolder: string;
  /** Commit oid of each step. */
  readonly commits: Record<Step, string>;
  /** Author time of each step, seconds since the epoch. */
  readonly times: Record<Step, number>;
}

export const PATHS = {
  settings: 'shop/core/configmaps/settings.yaml',
  web: 'shop/apps/deployments/web.yaml',
  api: 'shop/apps/deployments/api.yaml',
  view: '_cluster/rbac.authorization.k8s.io/clusterroles/view.yaml',
  service: 'shop/core/services/web.yaml',
  gizmo: 'shop/example.com/widgets/gizmo.yaml',
} as const;

const configMap = (color: string): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: ${color}
  size: medium
`;

const deployment = (name: string, replicas: number, image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata:
  labels:
    app: ${name}
  name: ${name}
  namespace: shop
spec:
  replicas: ${replicas}
  selector:
    matchLabels:
      app: ${name}
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - image: ${image}
          name: ${name}
`;

const clusterRole = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: view
rules:
  - apiGroups:
      - ""
    resources:
      - pods
    verbs:
      - get
      - list
`;

const service = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  ports:
    - port: 80
  selector:
    app: web
`;

const widget = `apiVersion: example.com/v1alpha1
kind: Widget
metadata:
  name: gizmo
  namespace: shop
spec:
  size: 3
`;

interface Change {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  gv: string;
  resource: string;
  object: string;
  user: string;
  groups: string;
  resourceVersion: string;
}

/** The DESIGN commit format: subject, blank line, trailers. */
function changeMessage(c: Change): string {
  return [
    `${c.operation} ${c.gv} ${c.resource} ${c.object}`,
    '',
    `Kubescribe-Operation: ${c.operation}`,
    `Kubescribe-Resource: ${c.gv}/${c.resource}`,
    `Kubescribe-Object: ${c.object}`,
    `Kubescribe-User: ${c.user}`,
    `Kubescribe-Groups: ${c.groups}`,
    `Kubescribe-Resource-Version: ${c.resourceVersion}`,
    '',
  ].join('\n');
}

const reconcileMessage = [
  'RECONCILE apps/v1 deployments (2 objects)',
  '',
  'Reconcile commit by kubescribe (start-up): the branch is brought in line with the cluster.',
  '',
  'created shop/api',
  'updated shop/web',
  '',
  'Kubescribe-Operation: RECONCILE',
  'Kubescribe-Resource: apps/v1/deployments',
  'Kubescribe-User: kubescribe',
  '',
].join('\n');

export async function buildAuditRepo(dir: string, options: { start: Date; baseFolder?: string }): Promise<AuditRepo> {
  const baseFolder = options.baseFolder ?? '';
  const at = (p: string): string => (baseFolder === '' ? p : `${baseFolder}/${p}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await init({ fs, dir, defaultBranch: 'main' });

  const start = Math.floor(options.start.getTime() / 1000);
  const commits = {} as Record<Step, string>;
  const times = {} as Record<Step, number>;
  let hour = 0;

  const step = async (name: Step, files: Record<string, string | null>, message: string, author: string): Promise<void> => {
    for (const [path, content] of Object.entries(files)) {
      const filepath = at(path);
      if (content === null) {
        await rm(join(dir, filepath));
        await remove({ fs, dir, filepath });
      } else {
        await mkdir(dirname(join(dir, filepath)), { recursive: true });
        await writeFile(join(dir, filepath), content);
        await add({ fs, dir, filepath });
      }
    }
    const timestamp = start + hour++ * 3600;
    const email = `${author.replace(/[^A-Za-z0-9._+-]/g, '-')}@users.kubescribe.local`;
    commits[name] = await commit({
      fs,
      dir,
      message,
      author: { name: author, email, timestamp, timezoneOffset: 0 },
      // The writer commits a moment after it observed the change.
      committer: { name: 'kubescribe', email: 'kubescribe@kubescribe.local', timestamp: timestamp + 2, timezoneOffset: 0 },
    });
    times[name] = timestamp;
  };

  const devs = 'system:authenticated,devs';
  await step('cmCreate', { [PATHS.settings]: configMap('blue') }, changeMessage({ operation: 'CREATE', gv: 'v1', resource: 'configmaps', object: 'shop/settings', user: 'alice', groups: devs, resourceVersion: '1001' }), 'alice');
  await step('cmUpdate', { [PATHS.settings]: configMap('green') }, changeMessage({ operation: 'UPDATE', gv: 'v1', resource: 'configmaps', object: 'shop/settings', user: 'bob', groups: devs, resourceVersion: '1002' }), 'bob');
  await step('cmDelete', { [PATHS.settings]: null }, changeMessage({ operation: 'DELETE', gv: 'v1', resource: 'configmaps', object: 'shop/settings', user: 'carol', groups: 'system:authenticated', resourceVersion: '1003' }), 'carol');
  await step('deployCreate', { [PATHS.web]: deployment('web', 1, 'nginx:1.25') }, changeMessage({ operation: 'CREATE', gv: 'apps/v1', resource: 'deployments', object: 'shop/web', user: 'alice', groups: devs, resourceVersion: '2001' }), 'alice');
  await step('deployScale', { [PATHS.web]: deployment('web', 3, 'nginx:1.25') }, changeMessage({ operation: 'UPDATE', gv: 'apps/v1', resource: 'deployments', object: 'shop/web', user: 'bob', groups: devs, resourceVersion: '2002' }), 'bob');
  await step('reconcile', { [PATHS.web]: deployment('web', 3, 'nginx:1.27'), [PATHS.api]: deployment('api', 2, 'api:2.0') }, reconcileMessage, 'kubescribe');
  const sa = 'system:serviceaccount:ci:deployer';
  await step('clusterRoleCreate', { [PATHS.view]: clusterRole }, changeMessage({ operation: 'CREATE', gv: 'rbac.authorization.k8s.io/v1', resource: 'clusterroles', object: 'view', user: sa, groups: 'system:serviceaccounts,system:serviceaccounts:ci', resourceVersion: '3001' }), sa);
  await step('serviceCreate', { [PATHS.service]: service }, changeMessage({ operation: 'CREATE', gv: 'v1', resource: 'services', object: 'shop/web', user: 'unknown', groups: '', resourceVersion: '4001' }), 'unknown');

  await step('widgetCreate', { [PATHS.gizmo]: widget }, changeMessage({ operation: 'CREATE', gv: 'example.com/v1alpha1', resource: 'widgets', object: 'shop/gizmo', user: 'alice', groups: devs, resourceVersion: '5001' }), 'alice');

  return { dir, baseFolder, commits, times };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, start, baseFolder] = process.argv.slice(2);
  if (!dir) {
    process.stderr.write('usage: npx tsx src/cli/testing/audit-repo.ts <dir> [<start ISO date>] [<base folder>]\n');
    process.exit(2);
  }
  const repo = await buildAuditRepo(dir, { start: start ? new Date(start) : new Date(Date.now() - 2 * 86_400_000), baseFolder });
  process.stdout.write(`${JSON.stringify(repo, null, 2)}\n`);
}
