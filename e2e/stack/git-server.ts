// The local stack's Git server: a Node http server on loopback that checks HTTP basic auth and
// hands every authenticated request to `git http-backend` as a CGI program, so that clients
// (isomorphic-git in kubescribe, the git CLI in tests) talk real smart HTTP, push included.
// Also a script: `npx tsx e2e/stack/git-server.ts --root DIR --user U --password P [--port N]
// [--repo audit]` prints {"url":...,"port":...} as one JSON line and serves until SIGTERM.
// With KUBESCRIBE_GIT_SERVER_LOG=FILE in its environment, it appends a line per POST (a push or a
// fetch): `<start ms> <ms until the backend exited> <request body bytes> <path>`, so a benchmark
// can say what was pushed and what the server spent on it (bench/burst-memory.ts).
import { execFile, spawn } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { appendFileSync, constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const exec = promisify(execFile);

const DEBIAN_BACKEND = '/usr/lib/git-core/git-http-backend';
const REALM = 'kubescribe-git';
const HEADER_LIMIT = 64 * 1024;

export interface GitServerOptions {
  /** Folder that holds the bare repositories (`<root>/audit.git` is served as `/audit.git`). */
  root: string;
  username: string;
  password: string;
  /** 0 (default) picks a free port. */
  port?: number;
  host?: '127.0.0.1';
}

export interface GitServer {
  /** `http://127.0.0.1:PORT`; a repository's URL is `${url}/${name}.git`. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Finds git-http-backend, or fails with a message that says which package brings it. */
export async function findHttpBackend(): Promise<string> {
  const candidates = [DEBIAN_BACKEND];
  try {
    const { stdout } = await exec('git', ['--exec-path']);
    candidates.push(join(stdout.trim(), 'git-http-backend'));
  } catch {
    // no git on PATH: the message below says what to install
  }
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `git-http-backend not found (looked in ${candidates.join(', ')}): install the Debian package \`git\` (apt-get install git)`,
  );
}

/** Creates `<root>/<name>.git` as a bare repository that accepts pushes over HTTP; no-op if it exists. */
export async function createBareRepo(root: string, name: string, opts: { defaultBranch: string } = { defaultBranch: 'main' }): Promise<string> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) throw new Error(`invalid repository name ${JSON.stringify(name)}`);
  const dir = join(root, name.endsWith('.git') ? name : `${name}.git`);
  const exists = await stat(join(dir, 'HEAD')).then(() => true, () => false);
  if (!exists) {
    await mkdir(dir, { recursive: true });
    await exec('git', ['init', '--quiet', '--bare', `--initial-branch=${opts.defaultBranch}`, dir]);
  }
  await exec('git', ['-C', dir, 'config', 'http.receivepack', 'true']);
  return dir;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time check of a Basic Authorization header (hashing first equalises the lengths). */
function authorized(header: string | undefined, expected: Buffer): { user: string } | undefined {
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice('Basic '.length).trim(), 'base64').toString('utf8');
  if (!timingSafeEqual(digest(decoded), expected)) return undefined;
  return { user: decoded.slice(0, decoded.indexOf(':')) };
}

export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const backend = await findHttpBackend();
  const root = resolve(opts.root);
  await mkdir(root, { recursive: true });
  const expected = digest(`${opts.username}:${opts.password}`);
  const host = opts.host ?? '127.0.0.1';

  const server = createServer((req, res) => {
    const who = authorized(req.headers.authorization, expected);
    if (!who) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': `Basic realm="${REALM}"`, 'Content-Type': 'text/plain' });
      res.end('Authentication required\n');
      return;
    }
    runBackend(backend, root, who.user, req, res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

function runBackend(backend: string, root: string, user: string, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: root, // no user's ~/.gitconfig leaks into the server
    GIT_CONFIG_NOSYSTEM: '1',
    // Every repository under root takes pushes and is trusted whoever owns it.
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'safe.directory',
    GIT_CONFIG_VALUE_1: '*',
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // Chunked and gzip bodies are buffered by the backend; the default 10 MB is too small for big pushes.
    GIT_HTTP_MAX_REQUEST_BUFFER: '1g',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REMOTE_USER: user,
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    AUTH_TYPE: 'Basic',
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
  };
  // A chunked body has no length: the backend then reads to EOF.
  if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
  if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = req.headers['content-encoding'];
  if (req.headers['git-protocol']) env.GIT_PROTOCOL = String(req.headers['git-protocol']);

  const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const requestLog = req.method === 'POST' ? process.env.KUBESCRIBE_GIT_SERVER_LOG : undefined;
  const started = Date.now();
  let reqBytes = 0;
  if (requestLog) req.on('data', (d: Buffer) => { reqBytes += d.length; });
  req.pipe(child.stdin);
  child.stdin.on('error', () => { /* the backend may stop reading early (e.g. an error answer) */ });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString('utf8'); });

  let head = Buffer.alloc(0);
  let headersDone = false;
  child.stdout.on('data', (chunk: Buffer) => {
    if (headersDone) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (!end) {
      if (head.length > HEADER_LIMIT) fail('CGI headers too long');
      return;
    }
    headersDone = true;
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.at).toString('latin1'));
    res.writeHead(status.code, status.text, headers);
    const body = head.subarray(end.at + end.length);
    if (body.length) res.write(body);
  });
  child.on('error', (err) => fail(err.message));
  child.on('close', (code) => {
    if (requestLog) appendFileSync(requestLog, `${started} ${Date.now() - started} ${reqBytes} ${url.pathname}\n`);
    if (!headersDone) fail(`git-http-backend exited with ${code}: ${stderr.trim()}`);
    else res.end();
  });
  res.on('close', () => { if (child.exitCode === null) child.kill(); });

  function fail(message: string): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    headersDone = true;
    res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`${message}\n`);
  }
}

function findHeaderEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(text: string): { status: { code: number; text?: string }; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  let status: { code: number; text?: string } = { code: 200 };
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const m = /^(\d{3})\s*(.*)$/.exec(value);
      if (m) status = { code: Number(m[1]), text: m[2] || undefined };
    } else {
      headers[name] = value;
    }
  }
  return { status, headers };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      root: { type: 'string' },
      user: { type: 'string' },
      password: { type: 'string' },
      port: { type: 'string', default: '0' },
      repo: { type: 'string', multiple: true, default: [] },
      'default-branch': { type: 'string', default: 'main' },
    },
  });
  if (!values.root || !values.user || values.password === undefined) {
    throw new Error('usage: git-server.ts --root DIR --user U --password P [--port N] [--repo NAME]...');
  }
  for (const name of values.repo) await createBareRepo(values.root, name, { defaultBranch: values['default-branch'] });
  const server = await startGitServer({ root: values.root, username: values.user, password: values.password, port: Number(values.port) });
  process.stdout.write(`${JSON.stringify({ url: server.url, port: server.port })}\n`);
  const stop = (): void => { void server.stop().then(() => process.exit(0)); };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
