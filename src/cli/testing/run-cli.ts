// Runs the CLI in-process the way a shell would, capturing stdout, stderr and the exit code.

import { tmpdir } from 'node:os';
import type { Env } from '../context.ts';
import { runCli } from '../main.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: Env;
  readonly now?: Date;
  readonly isTTY?: boolean;
  readonly home?: string;
}

/** The clock the story's tests use: nine hours after the first commit (2025-01-10T09:00:00Z). */
export const NOW = new Date('2025-01-10T18:00:00Z');
export const START = new Date('2025-01-10T09:00:00Z');

export async function kubescribe(argv: readonly string[], options: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (t: string) => (stdout += t), isTTY: options.isTTY ?? false },
    stderr: { write: (t: string) => (stderr += t), isTTY: false },
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    home: options.home ?? tmpdir(),
    now: () => options.now ?? NOW,
  });
  return { code, stdout, stderr };
}
