// `kubescribe history`: the changes of one object, newest first, each with its time, user,
// operation, commit and a unified YAML diff. Text output is streamed as the walk finds changes;
// `--since` stops the walk early, `--limit` as soon as enough changes were found.

import { parseArgs } from 'node:util';
import { REPO_OPTIONS, REPO_OPTIONS_HELP, commonOptions, openAuditRepo, parseCommandLine, parseLimit, parseObjectTarget, parseSince } from './command-line.ts';
import type { CliContext, Command } from './context.ts';
import { isoTime, paintDiff, paintOperation, shortOid, unifiedDiff, type Palette } from './format.ts';
import { notRecordedError } from './not-recorded.ts';
import { involves, objectChanges, shownUser, type ObjectChange } from './object-history.ts';
import { objectPath, splitPath } from './object-path.ts';
import { RepoReader } from './repo-reader.ts';

const HELP = `Show the recorded changes of one object, newest first, with YAML diffs.

Usage:
  kubescribe history <resource> <namespace>/<name> [options]
  kubescribe history <resource> <name> -n <namespace> [options]
  kubescribe history <resource> <name> [options]          (cluster-scoped resources)

<resource> is any name kubectl accepts for a built-in type (deploy, deployment, deployments,
Deployment, cm, svc, secret, sa, ing, cj, crd, clusterrole, ...) or <plural>.<group> for a
custom resource (widgets.example.com).

Options:
  -n, --namespace <ns>       the object's namespace
      --since <when>         only changes since a duration ago (30m, 24h, 7d) or an ISO date
      --user <name>          only changes by this Kubernetes user (alice,
                             system:serviceaccount:ns:name, unknown, kubescribe), or
                             deletions by a controller that the user caused
      --limit <n>            at most n changes

${REPO_OPTIONS_HELP}

Examples:
  kubescribe history deploy shop/web
  kubescribe history cm settings -n shop --since 7d --user bob
  kubescribe history clusterrole view --repo https://git.example.com/audit.git -o json
`;

export const historyCommand: Command = {
  name: 'history',
  summary: 'the changes of one object, newest first, with YAML diffs',
  help: HELP,
  run,
};

async function run(argv: readonly string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parseCommandLine(() =>
    parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { ...REPO_OPTIONS, namespace: { type: 'string', short: 'n' }, since: { type: 'string' }, user: { type: 'string' }, limit: { type: 'string' } },
    }),
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return;
  }
  const common = commonOptions(values, ctx);
  const target = parseObjectTarget(positionals, values.namespace, 'history');
  const since = values.since === undefined ? undefined : Math.ceil(parseSince(values.since, ctx.now()).getTime() / 1000);
  const limit = values.limit === undefined ? undefined : parseLimit(values.limit);
  const user = values.user;

  const path = objectPath(common.baseFolder, target.ref);
  const segments = splitPath(path);

  const repo = await openAuditRepo(common, ctx);
  const reader = new RepoReader(repo.gitdir);

  const found: ObjectChange[] = [];
  const json: unknown[] = [];
  for await (const change of objectChanges(reader, repo.tip, segments, { stopBefore: since })) {
    if (since !== undefined && change.commit.author.timestamp < since) continue;
    if (user !== undefined && !involves(change, user)) continue;
    found.push(change);
    const before = change.before === undefined ? undefined : await reader.readText(change.before);
    const after = change.after === undefined ? undefined : await reader.readText(change.after);
    if (common.output === 'json') {
      json.push(changeJson(change, unifiedDiff(path, before, after, { fileHeaders: true })));
    } else {
      ctx.stdout.write(changeText(change, unifiedDiff(path, before, after, { fileHeaders: false }), common.palette, found.length > 1));
    }
    if (limit !== undefined && found.length >= limit) break;
  }

  if (found.length === 0) {
    // Nothing matched: tell "never recorded" (an error) from "filtered out" (an empty answer).
    const recorded = since !== undefined || user !== undefined ? !(await objectChanges(reader, repo.tip, segments).next()).done : false;
    if (!recorded) throw await notRecordedError(reader, repo, common.baseFolder, target);
    if (common.output === 'text') ctx.stderr.write(`no changes of ${path} match the filters\n`);
  }
  if (common.output === 'json') {
    const { group, resource, namespace, name } = target.ref;
    const object = { group, version: target.resource.version ?? null, resource, namespace: namespace ?? null, name };
    ctx.stdout.write(`${JSON.stringify({ object, path, repository: repo.label, branch: repo.branch, changes: json }, null, 2)}\n`);
  }
}

function changeText(change: ObjectChange, diff: string, p: Palette, separate: boolean): string {
  const header = [p.dim(isoTime(change.commit.author.timestamp)), p.bold(shownUser(change)), paintOperation(change.operation, p), p.yellow(shortOid(change.commit.oid))].join('  ');
  return `${separate ? '\n' : ''}${header}\n${paintDiff(diff, p)}`;
}

function changeJson(change: ObjectChange, diff: string): Record<string, unknown> {
  return {
    commit: change.commit.oid,
    time: isoTime(change.commit.author.timestamp),
    user: change.user,
    cause: change.meta.causes,
    groups: change.meta.groups,
    operation: change.operation,
    effect: change.effect,
    resourceVersion: change.meta.resourceVersion ?? null,
    subject: change.commit.message.split('\n', 1)[0] ?? '',
    diff,
  };
}
