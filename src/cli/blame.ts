// `kubescribe blame`: each line of an object's current YAML with the user, time and commit of
// the change that last touched it. isomorphic-git has no blame, so it is rebuilt here: walk the
// object's history back to its latest creation, then replay the versions oldest to newest,
// carrying each line's owner through jsdiff's line diff (kept lines keep their owner, added
// lines get the new change's).

import { parseArgs } from 'node:util';
import { diffLines } from 'diff';
import { REPO_OPTIONS, REPO_OPTIONS_HELP, commonOptions, openAuditRepo, parseCommandLine, parseObjectTarget } from './command-line.ts';
import type { CliContext, Command } from './context.ts';
import { CliError } from './errors.ts';
import { formatColumns, isoTime, shortOid } from './format.ts';
import { notRecordedError } from './not-recorded.ts';
import { objectChanges, shownUser, type ObjectChange } from './object-history.ts';
import { displayObject, objectPath, splitPath } from './object-path.ts';
import { RepoReader } from './repo-reader.ts';
import { displayResource } from './resource-names.ts';

const HELP = `Show each line of an object's current YAML with the user and time of the change that
last touched it.

Usage:
  kubescribe blame <resource> <namespace>/<name> [options]
  kubescribe blame <resource> <name> -n <namespace> [options]
  kubescribe blame <resource> <name> [options]            (cluster-scoped resources)

<resource> is any name kubectl accepts for a built-in type (deploy, cm, svc, ...) or
<plural>.<group> for a custom resource.

Options:
  -n, --namespace <ns>       the object's namespace

${REPO_OPTIONS_HELP}

Example:
  kubescribe blame deploy shop/web
`;

export const blameCommand: Command = {
  name: 'blame',
  summary: "who last changed each line of an object's current YAML",
  help: HELP,
  run,
};

/** Splits text into lines the way jsdiff counts them: a final newline ends the last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** The owners of `next`'s lines, given the owners of `previous`'s lines and the owner of the change. */
export function carryOwners<T>(owners: readonly T[], previous: string, next: string, owner: T): T[] {
  const carried: T[] = [];
  let at = 0;
  for (const part of diffLines(previous, next)) {
    const count = splitLines(part.value).length;
    if (part.added) {
      for (let i = 0; i < count; i++) carried.push(owner);
    } else if (part.removed) {
      at += count;
    } else {
      for (let i = 0; i < count; i++) carried.push(owners[at + i] ?? owner);
      at += count;
    }
  }
  return carried;
}

async function run(argv: readonly string[], ctx: CliContext): Promise<void> {
  const { values, positionals } = parseCommandLine(() =>
    parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { ...REPO_OPTIONS, namespace: { type: 'string', short: 'n' } } }),
  );
  if (values.help) {
    ctx.stdout.write(HELP);
    return;
  }
  const common = commonOptions(values, ctx);
  const target = parseObjectTarget(positionals, values.namespace, 'blame');
  const path = objectPath(common.baseFolder, target.ref);
  const segments = splitPath(path);

  const repo = await openAuditRepo(common, ctx);
  const reader = new RepoReader(repo.gitdir);

  // Newest first, back to the latest creation: a deleted and re-created object starts afresh.
  const lineage: ObjectChange[] = [];
  for await (const change of objectChanges(reader, repo.tip, segments)) {
    if (lineage.length === 0 && change.after === undefined) {
      const what = `${displayResource(target.resource)} ${displayObject(target.ref)}`;
      throw new CliError(
        `${what} does not exist on branch ${repo.branch}: deleted by ${shownUser(change)} at ${isoTime(change.commit.author.timestamp)} (commit ${shortOid(change.commit.oid)})`,
        { hint: `its past versions: kubescribe history ${displayResource(target.resource)} ${displayObject(target.ref)}` },
      );
    }
    lineage.push(change);
    if (change.before === undefined) break;
  }
  if (lineage.length === 0) throw await notRecordedError(reader, repo, common.baseFolder, target);

  let text = '';
  let owners: ObjectChange[] = [];
  for (const change of lineage.reverse()) {
    const next = change.after === undefined ? '' : await reader.readText(change.after);
    owners = carryOwners(owners, text, next, change);
    text = next;
  }
  const lines = splitLines(text);

  if (common.output === 'json') {
    const json = lines.map((line, i) => {
      const by = owners[i];
      return { line: i + 1, text: line, commit: by?.commit.oid ?? null, time: by ? isoTime(by.commit.author.timestamp) : null, user: by?.user ?? null, operation: by?.operation ?? null };
    });
    ctx.stdout.write(`${JSON.stringify({ path, repository: repo.label, branch: repo.branch, commit: repo.tip, lines: json }, null, 2)}\n`);
    return;
  }
  const p = common.palette;
  const rows = lines.map((line, i) => {
    const by = owners[i];
    return [by ? shortOid(by.commit.oid) : '', `(${by?.user ?? ''}`, by ? isoTime(by.commit.author.timestamp) : '', `${String(i + 1).padStart(String(lines.length).length)})`, line];
  });
  const painted = formatColumns(rows, (column, padded) => (column === 0 ? p.yellow(padded) : column === 2 ? p.dim(padded) : padded));
  ctx.stdout.write(painted.map((l) => `${l}\n`).join(''));
}
