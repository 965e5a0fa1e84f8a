// The dispatcher and the executable: help, unknown commands, exit codes, the shebang.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './main.ts';
import { kubescribe } from './testing/run-cli.ts';

describe('dispatch and help', () => {
  it('--help lists every command and exits 0', async () => {
    const { code, stdout } = await kubescribe(['--help']);
    expect(code).toBe(0);
    for (const name of ['history', 'blame', 'who']) expect(stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    expect(stdout).toContain("Run 'kubescribe <command> --help'");
  });

  it('no arguments prints the help on stderr and exits 2', async () => {
    const { code, stdout, stderr } = await kubescribe([]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('Commands:');
  });

  describe.each(COMMANDS.map((c) => [c.name]))('%s', (name) => {
    it.each([[[name, '--help']], [[name, '-h']], [['help', name]]])('%j prints its help', async (argv) => {
      const { code, stdout } = await kubescribe(argv);
      expect(code).toBe(0);
      expect(stdout).toContain(`kubescribe ${name}`);
      if (name !== 'run') expect(stdout).toContain('--repo <path|url>');
    });
  });

  it('an unknown command is a usage error with a suggestion', async () => {
    const { code, stderr } = await kubescribe(['histroy', 'deploy', 'shop/web']);
    expect(code).toBe(2);
    expect(stderr).toBe('error: unknown command "histroy"; did you mean history?\nhint: commands: history, blame, who, run\n');
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect((await kubescribe(['--version'])).stdout).toBe(`kubescribe ${pkg.version}\n`);
  });
});

describe('the executable', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));

  it('starts with a node shebang (it becomes dist/cli/main.js, the package bin)', () => {
    expect(readFileSync(main, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
  });

  it('runs as a program and sets the exit code', () => {
    const help = spawnSync(process.execPath, ['--import', 'tsx', main, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Commands:');
    const usage = spawnSync(process.execPath, ['--import', 'tsx', main, 'history', 'nosuchthing', 'x/y'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('unknown resource type "nosuchthing"');
  });
});
