// The one seam between the smart Git protocol and the wire: a session starts a service
// (git-upload-pack for fetch, git-receive-pack for push), hands back its ref advertisement, and
// exchanges one request for one response. HTTP does it in two requests (GET info/refs, POST), SSH
// in one exec channel. send-pack.ts speaks through it; fetch-branch.ts lends it to isomorphic-git.
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import { KubescribeError } from '../errors.ts';
import { redactUrl } from './git-error.ts';
import { gitFetch, REQUEST_TIMEOUT_MS } from './http-client.ts';
import { openSshSession } from './ssh-transport.ts';
import { parseSshUrl } from './ssh-url.ts';
import type { Credentials } from './types.ts';

export type GitService = 'git-upload-pack' | 'git-receive-pack';

export interface GitSession {
  /** The pkt-lines of the ref advertisement (HTTP's `# service=` header may come first). */
  advertisement: Buffer;
  /** Sends the request (commands or wants, then a pack or `done`) and returns the whole response. */
  exchange(body: Uint8Array): Promise<Buffer>;
  /** Ends the session; safe to call at any point, also after exchange. */
  close(): void;
}

/** `signal`: a fenced writer (writer.ts) cuts the session; nothing is sent after it. */
export type OpenSession = (service: GitService, signal?: AbortSignal) => Promise<GitSession>;

/**
 * One HTTP request of a session; the answer's body and the URL it came from (after redirects:
 * the POST goes where the advertisement was found). Every HTTP answer is mapped to an error code
 * here: credentials refused, a body too large for a proxy (the push goes on in smaller rounds),
 * and an advertisement that is not one (a login page, a dumb server) read as what it is.
 */
async function httpCall(url: string, init: RequestInit, action: string, remoteUrl: string, expectType?: string): Promise<{ body: Buffer; url: string }> {
  // The caller's signal (a fenced writer, see writer.ts) cuts the request as the deadline does.
  const deadline = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const res = await gitFetch(url, { ...init, redirect: 'follow', signal: init.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  const body = Buffer.from(await res.arrayBuffer());
  const where = redactUrl(remoteUrl);
  if (res.status === 401 || res.status === 403) {
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', `Git remote ${where} refused the credentials (HTTP ${res.status} ${res.statusText}) during ${action}`);
  }
  if (res.status === 413) {
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_TOO_LARGE', `Git remote ${where} (or a proxy before it) refused a request body of ${init.body instanceof Uint8Array ? init.body.byteLength : 0} bytes (HTTP 413) during ${action}`);
  }
  if (res.status !== 200) {
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} answered HTTP ${res.status} ${res.statusText} during ${action}`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (expectType && !type.startsWith(expectType)) {
    throw new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `${where} is not a Git smart HTTP remote: ${action} got ${type || 'no content type'} instead of ${expectType}`);
  }
  return { body, url: res.url || url };
}

/** Basic auth header (never logged). */
export function basicAuth(c: Credentials | undefined): Record<string, string> {
  if (!c || c.ssh) return {};
  return { Authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` };
}

function openHttpSession(url: string, credentials: Credentials | undefined): OpenSession {
  const base = url.replace(/\/+$/, '');
  const headers = { ...basicAuth(credentials), 'User-Agent': 'git/kubescribe' };
  return async (service, signal) => {
    const action = service === 'git-receive-pack' ? 'push' : 'fetch';
    const adv = await httpCall(`${base}/info/refs?service=${service}`, { headers, signal }, action, url, `application/x-${service}-advertisement`);
    // Where the advertisement was really served (a redirect to another host or path).
    const target = adv.url.replace(/\/info\/refs(\?.*)?$/, '');
    return {
      advertisement: adv.body,
      exchange: async (body) => (await httpCall(`${target}/${service}`, {
        method: 'POST',
        signal,
        headers: { ...headers, 'Content-Type': `application/x-${service}-request`, Accept: `application/x-${service}-result` },
        body: body as Uint8Array<ArrayBuffer>,
      }, action, url)).body,
      close: () => undefined,
    };
  };
}

/** The transport for a remote URL: SSH for ssh:// and scp-like URLs, HTTP(S) otherwise. */
export function transportFor(url: string, credentials: Credentials | undefined): OpenSession {
  const target = parseSshUrl(url);
  if (!target) return openHttpSession(url, credentials);
  return (service, signal) => {
    signal?.throwIfAborted();
    return openSshSession(target, url, credentials?.ssh, service);
  };
}

/**
 * An isomorphic-git HttpClient that speaks through a session (for SSH): the GET of info/refs
 * starts the service and answers its advertisement behind the `# service=` header HTTP adds, the
 * POST is the session's one exchange. One client serves one fetch; close() ends its session.
 */
export function sessionHttpClient(open: OpenSession): HttpClient & { close(): void } {
  let session: GitSession | undefined;
  const one = (body: Uint8Array): AsyncIterableIterator<Uint8Array> => [body][Symbol.iterator]() as unknown as AsyncIterableIterator<Uint8Array>;
  return {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const ok = { url: req.url, method: req.method, statusCode: 200, statusMessage: 'OK' };
      const service: GitService = req.url.includes('git-receive-pack') ? 'git-receive-pack' : 'git-upload-pack';
      if ((req.method ?? 'GET') === 'GET') {
        session?.close();
        session = await open(service);
        const head = `# service=${service}\n`;
        const body = Buffer.concat([Buffer.from(`${(head.length + 4).toString(16).padStart(4, '0')}${head}0000`, 'latin1'), session.advertisement]);
        return { ...ok, headers: { 'content-type': `application/x-${service}-advertisement` }, body: one(body) };
      }
      if (!session) throw new Error(`${service} request without its advertisement`);
      const chunks: Uint8Array[] = [];
      for await (const c of (req.body ?? []) as AsyncIterable<Uint8Array>) chunks.push(c);
      const res = await session.exchange(Buffer.concat(chunks));
      return { ...ok, headers: { 'content-type': `application/x-${service}-result` }, body: one(res) };
    },
    close() {
      session?.close();
      session = undefined;
    },
  };
}
