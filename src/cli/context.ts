// What a command may touch of the outside world, passed in rather than reached for, so that
// tests run commands in-process with captured output, a fixed clock and their own environment.

export type Env = Readonly<Record<string, string | undefined>>;

export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean | undefined;
}

export interface CliContext {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Env;
  /** Where a relative --repo path is resolved, and the default repository. */
  readonly cwd: string;
  /** The home directory, for the clone cache (~/.cache/kubescribe/repos). */
  readonly home: string;
  readonly now: () => Date;
}

/** One `kubescribe <name>` subcommand. `run` resolves when done; errors are thrown as CliError. */
export interface Command {
  readonly name: string;
  /** One line for `kubescribe --help`. */
  readonly summary: string;
  /** The full text of `kubescribe <name> --help`. */
  readonly help: string;
  run(argv: readonly string[], ctx: CliContext): Promise<void>;
}
