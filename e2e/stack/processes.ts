// Background processes of the local stack: started detached with their output in a log file,
// tracked by pid and by a marker in their command line, so that `down` stops exactly what `up`
// started and a crashed run's leftovers are recognised (and not confused with a reused pid).
import { spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface ProcessRecord { pid: number; marker: string; log: string }

export function startDetached(cmd: string, args: string[], opts: { log: string; marker: string; env?: NodeJS.ProcessEnv; cwd?: string }): ProcessRecord {
  const fd = openSync(opts.log, 'a');
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env, KUBESCRIBE_STACK_MARKER: opts.marker },
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return { pid: child.pid, marker: opts.marker, log: opts.log };
}

/** True when the pid runs and is ours (its environment carries our marker). */
export function isRunning(rec: ProcessRecord | undefined): boolean {
  if (!rec) return false;
  try {
    process.kill(rec.pid, 0);
  } catch {
    return false;
  }
  try {
    const environ = readFileSync(`/proc/${rec.pid}/environ`, 'latin1');
    if (!environ.split('\0').includes(`KUBESCRIBE_STACK_MARKER=${rec.marker}`)) return false;
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'latin1');
    return !/^\d+ \(.*\) Z /.test(stat); // a zombie is not running
  } catch {
    return false;
  }
}

/**
 * Stops a process started by startDetached and everything in its process group, and returns only
 * when none of them is left: a wrapper shell dies at SIGTERM at once, but the server it waits
 * for (sshd) may still hold its port for a moment.
 */
export async function stopProcess(rec: ProcessRecord | undefined, timeoutMs = 15_000): Promise<void> {
  if (!rec || !isRunning(rec)) return;
  const signal = (sig: NodeJS.Signals): void => {
    try { process.kill(-rec.pid, sig); } catch { try { process.kill(rec.pid, sig); } catch { /* gone */ } }
  };
  const alive = (): boolean => isRunning(rec) || groupAlive(rec.pid);
  signal('SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return;
    await sleep(100);
  }
  signal('SIGKILL');
  const killDeadline = Date.now() + 5000;
  while (alive() && Date.now() < killDeadline) await sleep(50);
}

/** True while a process other than a zombie is in process group `pgid` (read from /proc). */
export function groupAlive(pgid: number): boolean {
  let entries: string[];
  try { entries = readdirSync('/proc'); } catch { return false; }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try { stat = readFileSync(`/proc/${entry}/stat`, 'latin1'); } catch { continue; }
    // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
  }
  return false;
}

export function killNow(rec: ProcessRecord | undefined): void {
  if (!rec || !isRunning(rec)) return;
  try { process.kill(rec.pid, 'SIGKILL'); } catch { /* gone */ }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function freePort(): Promise<number> {
  // Picked below the kernel's range of source ports for outgoing connections: a port the kernel
  // hands out (listen 0) is from that range, and any connection made before the server binds it
  // (kubectl, a client, a proxy) could take it — a CI run failed with EADDRINUSE that way.
  const low = lowestSourcePort();
  for (let attempt = 0; low > 11_000 && attempt < 20; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await bindable(port)) return port;
  }
  return listenOn(0);
}

/** The first port of the kernel's range for outgoing connections' source ports. */
export function lowestSourcePort(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'latin1').trim().split(/\s+/)[0]);
  } catch {
    return 32768; // Linux's default
  }
}

function bindable(port: number): Promise<boolean> {
  return listenOn(port).then(() => true, () => false);
}

/** Listens on 127.0.0.1:port, closes, and gives the port it had. */
function listenOn(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(got));
    });
  });
}

/** Polls `check` until it returns true; throws with `what` and the last error after the timeout. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
