// Helpers for e2e specs: run kubectl as one of the stack's users (helm as admin), read the audit repo with the
// git CLI, and poll (never sleep) until a condition holds.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { createKubeApi, loadKubeConnection } from '../src/watch/index.ts';
import type { StackEnv } from './stack/env.ts';
import type { FaultProxy } from './stack/tcp-proxy.ts';

const exec = promisify(execFile);

export function stackEnv(): StackEnv {
  return inject('stackEnv');
}

export type User = 'admin' | 'alice' | 'bob' | 'carol';

export async function kubectl(user: User, args: string[], stdin?: string): Promise<string> {
  const env = stackEnv();
  const p = exec(env.bin.kubectl, ['--kubeconfig', env.kubeconfigs[user], ...args], { maxBuffer: 64 << 20 });
  if (stdin !== undefined) p.child.stdin?.end(stdin);
  return (await p).stdout;
}

/** helm as admin (template and lint ignore the kubeconfig); a failure carries helm's own output. */
export async function helm(args: string[]): Promise<string> {
  const env = stackEnv();
  try {
    return (await exec(env.bin.helm, ['--kubeconfig', env.kubeconfigs.admin, ...args], { maxBuffer: 64 << 20 })).stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`);
  }
}

export async function git(cwd: string, args: string[]): Promise<string> {
  return (await exec('git', args, { cwd, maxBuffer: 256 << 20 })).stdout;
}

export function authedUrl(env: StackEnv = stackEnv()): string {
  return env.git.url.replace('http://', `http://${env.git.username}:${env.git.password}@`);
}

/** A fresh clone of the audit repo (the caller removes it with `close`). */
export async function cloneAudit(): Promise<{ dir: string; refresh: () => Promise<void>; close: () => Promise<void> }> {
  const env = stackEnv();
  const dir = await mkdtemp(join(tmpdir(), 'audit-'));
  await exec('git', ['clone', '-q', authedUrl(env), dir]);
  return {
    dir,
    refresh: async () => {
      await git(dir, ['fetch', '-q', 'origin']);
      await git(dir, ['reset', '-q', '--hard', `origin/${env.git.branch}`]).catch(() => undefined);
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface CommitInfo { sha: string; author: string; email: string; subject: string; body: string; files: string[] }

/** Commits of the remote branch touching `path` (or all), oldest first. */
export async function remoteLog(path?: string): Promise<CommitInfo[]> {
  const repo = join(stackEnv().git.root, 'audit.git');
  const sep = '\u001e';
  let out: string;
  try {
    out = await git(repo, ['log', '--reverse', '--name-only', `--format=${sep}%H%x00%an%x00%ae%x00%s%x00%b%x00`, stackEnv().git.branch, ...(path ? ['--', path] : [])]);
  } catch {
    return []; // no commits yet
  }
  return out.split(sep).filter((c) => c.trim() !== '').map((c) => {
    const [sha = '', author = '', email = '', subject = '', body = '', files = ''] = c.split('\0');
    return { sha, author, email, subject, body, files: files.split('\n').filter((f) => f.trim() !== '') };
  });
}

export async function remoteFile(path: string): Promise<string | undefined> {
  const repo = join(stackEnv().git.root, 'audit.git');
  try {
    return await git(repo, ['show', `${stackEnv().git.branch}:${path}`]);
  } catch {
    return undefined;
  }
}

export async function eventually<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000, intervalMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Runs the tasks, at most `limit` at once; their results in the tasks' order. */
export async function parallel<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  }));
  return out;
}

/** An API server's address (the shared one unless given), for a fault proxy in front of it. */
export function apiBackend(server: string = stackEnv().apiserver.server): { host: string; port: number } {
  const u = new URL(server);
  return { host: u.hostname, port: Number(u.port) };
}

/** A kubescribe kubeconfig (the shared stack's unless given), pointed at a fault proxy in front of its API server. */
export async function kubeconfigVia(dir: string, name: string, proxy: FaultProxy, source: string = stackEnv().kubeconfigs.kubescribe): Promise<string> {
  const text = (await readFile(source, 'utf8')).replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${proxy.port}`);
  const file = join(dir, `kubeconfig-${name}`);
  await writeFile(file, text, { mode: 0o600 });
  return file;
}

let counter = 0;
/** A namespace of its own for each spec, so specs can run in parallel on the shared stack. */
export async function freshNamespace(prefix: string): Promise<string> {
  const ns = `${prefix}-${process.pid}-${++counter}-${Date.now().toString(36)}`;
  await kubectl('admin', ['create', 'namespace', ns]);
  return ns;
}

/**
 * Every version of one named object as the cluster stores it (a watch as `kubeconfig`'s user),
 * picked into a value and stamped with the time it was seen, until stopped; reconnects on its own.
 */
export function watchObject<T>(kubeconfig: string, path: string, name: string, pick: (o: Record<string, unknown>) => T | undefined): { seen: Array<{ value: T; at: number }>; stop: () => Promise<void> } {
  const api = createKubeApi(loadKubeConnection(kubeconfig));
  const seen: Array<{ value: T; at: number }> = [];
  const stop = new AbortController();
  const running = (async () => {
    while (!stop.signal.aborted) {
      try {
        for await (const line of api.streamLines(`${path}?watch=1&fieldSelector=metadata.name%3D${name}`, stop.signal, { idleMs: 600_000 })) {
          const value = pick((JSON.parse(line) as { object?: Record<string, unknown> }).object ?? {});
          if (value !== undefined) seen.push({ value, at: Date.now() });
        }
      } catch { /* reconnect */ }
    }
  })();
  return { seen, stop: async () => { stop.abort(); await running; } };
}

export interface LeaseRecord { holder: string; renew: number; acquire: number; seen: number }

/** Every version of a Lease as the cluster stores it (watched as admin), until stopped. */
export function watchLease(namespace: string, name: string): { records: LeaseRecord[]; stop: () => Promise<void> } {
  type Spec = { renewTime?: string; acquireTime?: string; holderIdentity?: string };
  const w = watchObject(stackEnv().kubeconfigs.admin, `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, name, (o) => {
    const spec = o.spec as Spec | undefined;
    return spec?.renewTime ? spec : undefined;
  });
  return {
    get records(): LeaseRecord[] {
      return w.seen.map(({ value, at }) => ({ holder: value.holderIdentity ?? '', renew: Date.parse(value.renewTime!), acquire: Date.parse(value.acquireTime ?? ''), seen: at }));
    },
    stop: w.stop,
  };
}
