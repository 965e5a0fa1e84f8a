// `kubescribe who`: everything a user changed, newest first: one row per object a commit
// touched (a reconcile commit may touch many). The user and operation come from the commit's
// trailers; the objects from the files that changed under the base folder, found by comparing
// tree oids with the parent so that only folders that changed are read.

import { parseArgs } from 'node:util';
import { REPO_OPTIONS, REPO_OPTIONS_HELP, commonOptions, openAuditRepo, parseCommandLine, parseLimit, parseSince } from './command-line.ts';
import type { CliContext, Command } from './context.ts';
import { usageError } from './errors.ts';
import { formatColumns, isoTime, paintOperation, shortOid } from './format.ts';
import { parseCommitMessage, type CommitMeta } from './commit-message.ts';
import { changeUser, describeChange, shownUser, type FileEffect, type RecordedChange } from './object-history.ts';
import { displayObject, parseObjectPath, splitPath, type ObjectRef } from './object-path.ts';
import { RepoReader, type CommitInfo, type WalkStep } from './repo-reader.ts';
import { displayResource } from './resource-names.ts';

const HELP = `List everything a Kubernetes user changed, newest first: time, user, operation, resource,
object and commit, one row per object.

Usage:
  kubescribe who --user <name> [options]
  kubescribe who <name> [options]
  kubescribe who [options]                  (every user)

Options:
      --user <name>          the Kubernetes user (alice, system:serviceaccount:ns:name,
                             unknown; kubescribe for reconcile commits); deletions by
                             the namespace controller or the garbage collector that the
                             user caused are listed too, as "<controller> (caused by <user>)"
      --since <when>         only changes since a duration ago (30m, 24h, 7d) or an ISO date
      --limit <n>            at most n rows
  -n, --namespace <ns>       only objects in this namespace
      --cluster <name>       only changes recorded by this cluster (its Kubescribe-Cluster
                             trailer); objects are read under its folder (the name, unless
                             --base-folder says otherwise)

${REPO_OPTIONS_HELP}

Example:
  kubescribe who --user alice --since 24h
`;

export const whoCommand: Command = {
  name: 'who',
  summary: 'everything a user changed, newest first',
  help: HELP,
  run,
};

interface ObjectRow extends RecordedChange {
  readonly ref: ObjectRef;
  readonly cluster: string | undefined;
  readonly version: string | undefined;
  readonly path: string;
}

async function run(argv: readonly string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parseCommandLine(() =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { ...REPO_OPTIONS, user: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' }, namespace: { type: 'string', short: 'n' }, cluster: { type: 'string' } },
    }),
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return;
  }
  if (positionals.length > 1) throw usageError(`unexpected argument "${positionals[1]}"`, 'usage: kubescribe who --user <name> [--since <when>]');
  if (positionals.length === 1 && values.user !== undefined && values.user !== positionals[0]) {
    throw usageError(`two users given: "${positionals[0]}" and --user "${values.user}"`);
  }
  const user = values.user ?? positionals[0];
  const cluster = values.cluster;
  if (cluster !== undefined && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(cluster)) throw usageError(`--cluster must be a cluster name (a DNS-1123 label), not "${cluster}"`);
  // A cluster's changes live under its top folder (settings cluster.folder, by default its name).
  const common = commonOptions(cluster !== undefined && values['base-folder'] === undefined ? { ...values, 'base-folder': cluster } : values, ctx);
  const sinceDate = values.since === undefined ? undefined : parseSince(values.since, ctx.now());
  const since = sinceDate === undefined ? undefined : Math.ceil(sinceDate.getTime() / 1000);
  const limit = values.limit === undefined ? undefined : parseLimit(values.limit);

  const repo = await openAuditRepo(common, ctx);
  const reader = new RepoReader(repo.gitdir);
  const baseSegments = splitPath(common.baseFolder);

  const rows: ObjectRow[] = [];
  walk: for await (const step of reader.walk(repo.tip, { stopBefore: since })) {
    const { commit } = step;
    if (since !== undefined && commit.author.timestamp < since) continue;
    const meta = parseCommitMessage(commit.message);
    // A controller's deletion caused by the user counts as theirs (shown with its controller).
    if (user !== undefined && changeUser(commit, meta) !== user && !meta.causes.includes(user)) continue;
    if (cluster !== undefined && meta.cluster !== cluster) continue;
    for (const row of await objectsChanged(reader, step, meta, baseSegments, common.baseFolder)) {
      if (values.namespace !== undefined && row.ref.namespace !== values.namespace) continue;
      rows.push(row);
      if (limit !== undefined && rows.length >= limit) break walk;
    }
  }

  if (common.output === 'json') {
    const changes = rows.map((r) => ({
      commit: r.commit.oid,
      time: isoTime(r.commit.author.timestamp),
      user: r.user,
      cause: r.meta.causes,
      operation: r.operation,
      cluster: r.cluster ?? null,
      effect: r.effect,
      group: r.ref.group,
      version: r.version ?? null,
      resource: r.ref.resource,
      namespace: r.ref.namespace ?? null,
      name: r.ref.name,
      path: r.path,
    }));
    const filters = { user: user ?? null, since: sinceDate?.toISOString() ?? null, namespace: values.namespace ?? null, cluster: cluster ?? null };
    ctx.stdout.write(`${JSON.stringify({ ...filters, repository: repo.label, branch: repo.branch, changes }, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    ctx.stderr.write(`no changes${user === undefined ? '' : ` by ${user}`}${sinceDate === undefined ? '' : ` since ${sinceDate.toISOString()}`} on branch ${repo.branch}\n`);
    return;
  }
  const p = common.palette;
  const table = rows.map((r) => [isoTime(r.commit.author.timestamp), shownUser(r), r.operation, displayResource(r.ref), displayObject(r.ref), shortOid(r.commit.oid)]);
  const painted = formatColumns(table, (column, padded, raw) => {
    if (column === 0) return p.dim(padded);
    if (column === 2) return paintOperation(raw, p) + padded.slice(raw.length);
    if (column === 5) return p.yellow(padded);
    return padded;
  });
  ctx.stdout.write(painted.map((l) => `${l}\n`).join(''));
}

/** The objects whose files a commit changed under the base folder (compared with its first parent). */
async function objectsChanged(reader: RepoReader, step: WalkStep, meta: CommitMeta, baseSegments: readonly string[], baseFolder: string): Promise<ObjectRow[]> {
  const { commit, parents } = step;
  const after = await reader.treeAt(commit.tree, baseSegments);
  const parent: CommitInfo | undefined = parents[0];
  const before = parent === undefined ? undefined : await reader.treeAt(parent.tree, baseSegments);
  const rows: ObjectRow[] = [];
  for (const file of await reader.diffTrees(before, after)) {
    const ref = parseObjectPath(file.path);
    if (!ref) continue;
    const effect: FileEffect = file.before === undefined ? 'added' : file.after === undefined ? 'deleted' : 'modified';
    const change = describeChange(commit, effect, meta);
    // The trailer knows the version; trust it only for the object it names.
    const named = meta.resource !== undefined && meta.resource.group === ref.group && meta.resource.resource === ref.resource;
    rows.push({
      ...change,
      ref,
      cluster: meta.cluster,
      version: named ? meta.resource?.version : undefined,
      path: baseFolder === '' ? file.path : `${baseFolder}/${file.path}`,
    });
  }
  return rows;
}
