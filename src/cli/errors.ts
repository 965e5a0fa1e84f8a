// Errors the CLI reports to its user. Each carries the exit code that tells a script what went
// wrong: 2 when the command line itself is wrong (unknown option or resource, bad duration),
// 1 when the command line is fine but the repository disagrees (unreachable, unknown branch,
// object never recorded). Messages never contain credentials: callers build them from redacted
// URLs, never from a library's raw error text.

import type { ErrorCode } from '../errors.ts';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

export interface CliErrorOptions {
  exitCode?: typeof EXIT_RUNTIME | typeof EXIT_USAGE;
  /** A second line telling the user what to try next. */
  hint?: string | undefined;
  /** The catalogue code, when the failure is one the operator knows too (Git auth, unreachable). */
  code?: ErrorCode | undefined;
  cause?: unknown;
}

export class CliError extends Error {
  readonly exitCode: typeof EXIT_RUNTIME | typeof EXIT_USAGE;
  readonly hint: string | undefined;
  readonly code: ErrorCode | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? EXIT_RUNTIME;
    this.hint = options.hint;
    this.code = options.code;
  }
}

export function usageError(message: string, hint?: string): CliError {
  return new CliError(message, { exitCode: EXIT_USAGE, hint });
}
