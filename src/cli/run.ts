// `kubescribe run --settings FILE`: the operator itself (src/main.ts), reachable through the
// package's one bin, so that `npx kubescribe run` and the container both start it the same way.
import { run as runOperator } from '../main.ts';
import type { Command } from './context.ts';

const HELP = `Usage: kubescribe run --settings <file>     (or KUBESCRIBE_SETTINGS=<file>)

Runs the operator: the admission webhook, and (when it holds the lease) the watches and the Git
writers. The settings file is described in docs/configuration.md. Stops on SIGTERM or SIGINT.
`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the operator (webhook, watch, Git) with a settings file',
  help: HELP,
  async run(argv, ctx) {
    if (argv.includes('--help') || argv.includes('-h')) {
      ctx.stdout.write(HELP);
      return;
    }
    await runOperator([...argv]);
    // The operator keeps running on its servers; its own exit code (settings invalid: 1) stands.
    if (process.exitCode) throw Object.assign(new Error('kubescribe could not start (see the log line above)'), { silent: true });
  },
};
