#!/usr/bin/env node
// The `kubescribe` executable (package.json bin → dist/cli/main.js): picks the subcommand,
// runs it, and turns its outcome into an exit code (0 done, 1 the repository said no, 2 the
// command line is wrong). Commands are plain `Command` objects listed in COMMANDS; `runCli` is
// exported so tests run the CLI in-process with their own output, clock and environment.

import { readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { blameCommand } from './blame.ts';
import { runCommand } from './run.ts';
import type { CliContext, Command } from './context.ts';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from './errors.ts';
import { historyCommand } from './history.ts';
import { whoCommand } from './who.ts';

/**
 * Every subcommand, in the order `--help` lists them. To add one (e.g. `run`, the operator
 * itself), write src/cli/<name>.ts exporting a Command and list it here.
 */
export const COMMANDS: readonly Command[] = [historyCommand, blameCommand, whoCommand, runCommand];

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `kubescribe: browse the Git audit trail of Kubernetes changes that kubescribe records

Usage:
  kubescribe <command> [arguments] [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run 'kubescribe <command> --help' for a command's arguments and options.
Exit status: 0 done, 1 the repository could not answer (unreachable, unknown branch, object
never recorded), 2 the command line is wrong.
`;
}

function version(): string {
  try {
    // Two levels up from both src/cli/main.ts and dist/cli/main.js.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    ctx.stderr.write(mainHelp());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    ctx.stdout.write(mainHelp());
    return EXIT_OK;
  }
  if (name === '--version' || name === 'version') {
    ctx.stdout.write(`kubescribe ${version()}\n`);
    return EXIT_OK;
  }
  const wanted = name === 'help' ? rest[0] : name;
  const command = COMMANDS.find((c) => c.name === wanted);
  if (!command) {
    const close = COMMANDS.filter((c) => wanted && (c.name.startsWith(wanted.slice(0, 2)) || wanted.startsWith(c.name))).map((c) => c.name);
    report(ctx, new CliError(`unknown command "${wanted}"${close.length > 0 ? `; did you mean ${close.join(', ')}?` : ''}`, { exitCode: EXIT_USAGE, hint: `commands: ${COMMANDS.map((c) => c.name).join(', ')}` }));
    return EXIT_USAGE;
  }
  if (name === 'help') {
    ctx.stdout.write(command.help);
    return EXIT_OK;
  }
  try {
    await command.run(rest, ctx);
    return EXIT_OK;
  } catch (err) {
    return report(ctx, err);
  }
}

function report(ctx: CliContext, err: unknown): number {
  if (err instanceof CliError) {
    ctx.stderr.write(`error: ${err.message}\n`);
    if (err.hint) ctx.stderr.write(`${err.hint.replace(/^/gm, 'hint: ')}\n`);
    return err.exitCode;
  }
  // A bug or an unreadable repository: say what broke; the stack only on request.
  const message = err instanceof Error ? err.message : String(err);
  ctx.stderr.write(`error: ${message}\n`);
  if (ctx.env.KUBESCRIBE_DEBUG && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
  return EXIT_RUNTIME;
}

function processContext(): CliContext {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), home: homedir(), now: () => new Date() };
}

/** True when this file is the program being run (directly, or through npm's bin symlink). */
function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  // `kubescribe history ... | head` closes stdout early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
    throw err;
  });
  process.exitCode = await runCli(process.argv.slice(2), processContext());
}
