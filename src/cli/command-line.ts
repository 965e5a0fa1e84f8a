// The command-line pieces every browsing command shares: the repository options, their
// environment defaults and opening the repository they name; `--since`, `--limit`, `--output`
// and `--color`; and turning `<resource> <namespace>/<name>` (or `<name> -n <namespace>`, or
// kubectl's `<resource>/<name>`) into the object's identity. Anything wrong here is a usage
// error (exit 2), reported before the repository is touched.

import type { CliContext } from './context.ts';
import { usageError } from './errors.ts';
import { colourEnabled, palette, type ColorMode, type Palette } from './format.ts';
import { normalizeBaseFolder, type ObjectRef } from './object-path.ts';
import { openRepo, type AuditRepo } from './repo-source.ts';
import { displayResource, resolveResource, type ResolvedResource } from './resource-names.ts';

/** Options every browsing command takes; spread into each command's parseArgs options. */
export const REPO_OPTIONS = {
  repo: { type: 'string' },
  branch: { type: 'string' },
  'base-folder': { type: 'string' },
  output: { type: 'string', short: 'o' },
  color: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const REPO_OPTIONS_HELP = `Repository options:
      --repo <path|url>      a local clone of the audit repository (bare or not), or its
                             http(s) URL [env KUBESCRIBE_REPO; default: the current directory]
      --branch <name>        the branch to read [env KUBESCRIBE_BRANCH; default: the clone's
                             current branch, or the remote's default branch]
      --base-folder <dir>    the folder kubescribe writes into [env KUBESCRIBE_BASE_FOLDER;
                             default: the repository root]
  -o, --output text|json     text for people (default), json for scripts
      --color auto|always|never
                             colour the output; auto: only on a terminal and without NO_COLOR
  -h, --help                 show this help

A remote URL is cloned read-only into ~/.cache/kubescribe/repos/ (or $XDG_CACHE_HOME) on first
use and fetched on every run. Credentials come from the URL (https://user:token@host/repo.git)
or from KUBESCRIBE_GIT_USERNAME / KUBESCRIBE_GIT_PASSWORD; they are never stored or printed.`;

export type OutputFormat = 'text' | 'json';

export interface CommonOptions {
  readonly repo: string | undefined;
  readonly branch: string | undefined;
  readonly baseFolder: string;
  readonly output: OutputFormat;
  readonly palette: Palette;
}

/** Runs util.parseArgs and turns its errors (unknown option, missing value) into usage errors. */
export function parseCommandLine<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw usageError((err as Error).message);
    throw err;
  }
}

export function commonOptions(
  values: { repo?: string | undefined; branch?: string | undefined; 'base-folder'?: string | undefined; output?: string | undefined; color?: string | undefined },
  ctx: CliContext,
): CommonOptions {
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json') throw usageError(`--output must be text or json, not "${output}"`);
  const color = values.color ?? 'auto';
  if (color !== 'auto' && color !== 'always' && color !== 'never') throw usageError(`--color must be auto, always or never, not "${color}"`);
  const colour = output === 'text' && colourEnabled(color as ColorMode, ctx.stdout.isTTY, ctx.env);
  return {
    repo: values.repo || undefined,
    branch: values.branch || ctx.env.KUBESCRIBE_BRANCH || undefined,
    baseFolder: normalizeBaseFolder(values['base-folder'] ?? ctx.env.KUBESCRIBE_BASE_FOLDER ?? ''),
    output,
    palette: palette(colour),
  };
}

/** Opens the repository the options name, reporting a clone or fetch on a terminal's stderr. */
export function openAuditRepo(common: CommonOptions, ctx: CliContext): Promise<AuditRepo> {
  const progress = ctx.stderr.isTTY ? (message: string) => void ctx.stderr.write(message) : undefined;
  return openRepo({ repo: common.repo, branch: common.branch, cwd: ctx.cwd, home: ctx.home, env: ctx.env, progress });
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `30m`, `24h`, `7d`, `1h30m`, or an ISO date (`2025-01-10`, `2025-01-10T09:00:00Z`). */
export function parseSince(text: string, now: Date): Date {
  const value = text.trim();
  if (/^(\d+[smhdw])+$/.test(value)) {
    let seconds = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+)([smhdw])/g)) seconds += Number(amount) * (UNIT_SECONDS[unit ?? 's'] ?? 1);
    return new Date(now.getTime() - seconds * 1000);
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(value)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return new Date(ms);
  }
  throw usageError(`--since: "${text}" is neither a duration (30m, 24h, 7d) nor an ISO date (2025-01-10, 2025-01-10T09:00:00Z)`);
}

export function parseLimit(text: string): number {
  if (!/^[1-9]\d*$/.test(text.trim())) throw usageError(`--limit must be a positive whole number, not "${text}"`);
  return Number(text);
}

export interface ObjectTarget {
  readonly resource: ResolvedResource;
  readonly ref: ObjectRef;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * `<resource> <namespace>/<name>`, `<resource> <name> -n <namespace>`, `<resource>/<name>`
 * (kubectl's form), and for cluster-scoped resources `<resource> <name>`.
 */
export function parseObjectTarget(positionals: readonly string[], namespaceOption: string | undefined, command: string): ObjectTarget {
  let resourceText: string | undefined;
  let objectText: string | undefined;
  if (positionals.length === 1 && positionals[0]?.includes('/')) {
    const [first = '', ...rest] = positionals[0].split('/');
    resourceText = first;
    objectText = rest.join('/');
  } else if (positionals.length === 2) {
    [resourceText, objectText] = positionals;
  } else if (positionals.length > 2) {
    throw usageError(`unexpected argument "${positionals[2]}"`, `usage: kubescribe ${command} <resource> <namespace>/<name>`);
  }
  if (!resourceText || !objectText) {
    throw usageError('which object? give a resource and a name', `usage: kubescribe ${command} <resource> <namespace>/<name>  (see kubescribe ${command} --help)`);
  }

  const resource = resolveResource(resourceText);
  const parts = objectText.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) throw usageError(`"${objectText}" is not <namespace>/<name> or <name>`);
  let namespace = parts.length === 2 ? parts[0] : undefined;
  const name = parts.at(-1) ?? '';
  if (namespaceOption !== undefined) {
    if (namespace !== undefined && namespace !== namespaceOption) {
      throw usageError(`two namespaces given: "${namespace}" in ${objectText} and "${namespaceOption}" with -n`);
    }
    namespace = namespaceOption;
  }

  const kind = displayResource(resource);
  if (resource.namespaced === true && namespace === undefined) {
    throw usageError(`${kind} are namespaced: which namespace?`, `give <namespace>/${name} or -n <namespace>`);
  }
  if (resource.namespaced === false && namespace !== undefined) {
    throw usageError(`${kind} are cluster-scoped: drop the namespace "${namespace}"`);
  }
  if (namespace !== undefined && !DNS_LABEL.test(namespace)) throw usageError(`"${namespace}" is not a valid namespace name`);
  return { resource, ref: { group: resource.group, resource: resource.resource, namespace, name } };
}

/** For a command that takes no positional arguments. */
export function rejectPositionals(positionals: readonly string[], command: string): void {
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0]}"`, `see kubescribe ${command} --help`);
}
