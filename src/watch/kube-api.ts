// A small Kubernetes API client for what the watch needs: JSON GETs and a watch stream read line
// by line. Where the API is and how to authenticate comes from kube-config.ts; the streaming is
// ours so that a slow consumer slows the reading (back-pressure) and every error is seen (the
// client-node informer stops on non-410 errors).
//
// Robustness (issue 14): every request but a watch stream has a deadline; a watch that delivers
// no byte (event or bookmark) within `watchIdleMs` is cut, so a half-open connection is reopened;
// a 429 is retried after its Retry-After. Requests go through separate connection pools ("lanes"):
// long watches never hold a socket that a lease renewal, a status write or a list page waits for.
import { request, type Agent, type AgentOptions, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { checkServerIdentity } from 'node:tls';
import { KubescribeError } from '../errors.ts';
import type { KubeConnection } from './kube-config.ts';

/**
 * Which connection pool a request uses. `watch`: one socket per stream, unbounded (a stream holds
 * its socket for minutes); `list`: list pages (bounded, so 60 types relisting at once cannot open
 * hundreds of sockets); `control`: everything short (discovery, status, webhook rules); `lease`:
 * leader election alone, so a renewal never queues behind anything.
 */
export type Lane = 'watch' | 'list' | 'control' | 'lease';

export interface RequestOpts {
  signal?: AbortSignal;
  /** Overrides the client's request timeout (ms, body included). */
  timeoutMs?: number;
  lane?: Lane;
}

export interface KubeApi {
  server: string;
  getJson<T>(path: string, opts?: RequestOpts): Promise<T>;
  /** Sends a JSON body (POST/PUT/PATCH); resolves with the parsed answer. */
  send<T>(method: string, path: string, body: unknown, opts?: RequestOpts & { contentType?: string }): Promise<T>;
  /**
   * Lines of a streaming response (watch); ends when the server closes the stream. Throws
   * KUBESCRIBE_ERR_KUBE_WATCH_SILENT when nothing arrived for `idleMs` (default: the client's
   * watchIdleMs).
   */
  streamLines(path: string, signal: AbortSignal, opts?: { idleMs?: number }): AsyncGenerator<string>;
}

export interface KubeApiOptions {
  /** Deadline of every request but a watch stream (body included). */
  requestTimeoutMs?: number;
  /** A watch stream that delivers nothing this long is cut (bookmarks arrive about every minute). */
  watchIdleMs?: number;
  /** 429 Too Many Requests: how many times a request is retried after its Retry-After. */
  maxRetries429?: number;
  /** Longest Retry-After honoured (a larger one is capped). */
  maxRetryAfterMs?: number;
}

export const KUBE_API_DEFAULTS = { requestTimeoutMs: 30_000, watchIdleMs: 90_000, maxRetries429: 5, maxRetryAfterMs: 30_000 } as const;

export class KubeApiError extends KubescribeError {
  readonly status: number;
  readonly reason: string;
  /** A 429's (or 503's) Retry-After, in ms. */
  readonly retryAfterMs: number | undefined;
  constructor(status: number, reason: string, message: string, retryAfterMs?: number) {
    super('KUBESCRIBE_ERR_KUBE_API', message);
    this.status = status;
    this.reason = reason;
    this.retryAfterMs = retryAfterMs;
  }
}

const LANE_SOCKETS: Record<Lane, number> = { watch: Infinity, list: 8, control: 16, lease: 2 };

/** Seconds of a Retry-After header (delta-seconds or an HTTP date) in ms; 1 s when absent. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number {
  const v = Array.isArray(header) ? header[0] : header;
  if (!v) return 1000;
  const s = Number(v);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.max(0, at - now) : 1000;
}

export function createKubeApi(conn: KubeConnection, options: KubeApiOptions = {}): KubeApi {
  const o = { ...KUBE_API_DEFAULTS, ...options };
  const server = conn.server;
  const agents = new Map<Lane, Agent | HttpAgent>();
  const plain = server.startsWith('http:');
  const agentFor = (lane: Lane): Agent | HttpAgent => {
    let a = agents.get(lane);
    if (!a) {
      const opts: AgentOptions = { keepAlive: true, maxSockets: LANE_SOCKETS[lane], scheduling: 'lifo' };
      a = plain ? new HttpAgent(opts) : conn.createAgent(opts);
      agents.set(lane, a);
    }
    return a;
  };

  async function open(method: string, path: string, body: string | undefined, headers: Record<string, string>, lane: Lane, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const url = new URL(server + path);
    const opts: RequestOptions = { method, headers: { accept: 'application/json', ...headers }, signal };
    await conn.apply(opts);
    if (conn.proxy && url.protocol === 'https:' && !opts.checkServerIdentity) {
      // Through a tunnel, https-proxy-agent drops `host` for an IP address (no SNI), and Node then
      // checks the certificate against "localhost": check it against the server we asked for.
      const expected = opts.servername || url.hostname.replace(/^\[|\]$/g, '');
      opts.checkServerIdentity = (_host, cert) => checkServerIdentity(expected, cert);
    }
    opts.agent = agentFor(lane);
    const send = url.protocol === 'https:' ? request : httpRequest;
    return await new Promise<IncomingMessage>((resolve, reject) => {
      const req = send(url, opts, resolve);
      req.on('error', (err) => reject(signal?.aborted ? abortError(method, path, signal, err) : new KubescribeError('KUBESCRIBE_ERR_KUBE_API', `${method} ${path}: ${err.message}`, { cause: err })));
      req.end(body);
    });
  }

  /** A request with a deadline, retried after a 429's Retry-After; resolves with status and text. */
  async function call(method: string, path: string, body: string | undefined, headers: Record<string, string>, opts: RequestOpts): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      const deadline = AbortSignal.timeout(opts.timeoutMs ?? o.requestTimeoutMs);
      const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
      let res: IncomingMessage;
      let text: string;
      try {
        res = await open(method, path, body, headers, opts.lane ?? 'control', signal);
        text = await readAll(res);
      } catch (err) {
        if (deadline.aborted && !opts.signal?.aborted) throw new KubescribeError('KUBESCRIBE_ERR_KUBE_TIMEOUT', `${method} ${path}: no answer within ${opts.timeoutMs ?? o.requestTimeoutMs} ms`, { cause: err });
        throw err;
      }
      const status = res.statusCode ?? 0;
      if (status === 429 && attempt < o.maxRetries429 && !opts.signal?.aborted) {
        const wait = Math.min(retryAfterMs(res.headers['retry-after']), o.maxRetryAfterMs);
        await delay(wait, undefined, { signal: opts.signal }).catch(() => undefined);
        if (opts.signal?.aborted) throw toError(method, path, status, text, res.headers['retry-after']);
        continue;
      }
      if (status >= 300) throw toError(method, path, status, text, res.headers['retry-after']);
      return text;
    }
  }

  return {
    server,
    async getJson<T>(path: string, opts: RequestOpts = {}): Promise<T> {
      return JSON.parse(await call('GET', path, undefined, {}, opts)) as T;
    },
    async send<T>(method: string, path: string, body: unknown, opts: RequestOpts & { contentType?: string } = {}): Promise<T> {
      return JSON.parse(await call(method, path, JSON.stringify(body), { 'content-type': opts.contentType ?? 'application/json' }, opts)) as T;
    },
    async *streamLines(path: string, signal: AbortSignal, sopts?: { idleMs?: number }): AsyncGenerator<string> {
      const idleMs = sopts?.idleMs ?? o.watchIdleMs;
      // The idle timer runs from the request on: a server that accepts and then says nothing is as
      // silent as a stream that stopped.
      const silent = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => silent.abort(), idleMs);
      };
      arm();
      let res: IncomingMessage | undefined;
      try {
        try {
          res = await open('GET', path, undefined, {}, 'watch', AbortSignal.any([signal, silent.signal]));
        } catch (err) {
          if (silent.signal.aborted && !signal.aborted) throw silentError(path, idleMs);
          throw err;
        }
        if ((res.statusCode ?? 0) >= 300) {
          arm();
          throw toError('GET', path, res.statusCode ?? 0, await readAll(res), res.headers['retry-after']);
        }
        res.setEncoding('utf8');
        let buf = '';
        const stream = res;
        silent.signal.addEventListener('abort', () => stream.destroy(silentError(path, idleMs)), { once: true });
        for await (const chunk of stream) {
          arm();
          buf += chunk as string;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() !== '') {
              // The consumer may take long (a full queue): that is not silence of the server.
              clearTimeout(timer);
              yield line;
              arm();
            }
          }
        }
        if (buf.trim() !== '') yield buf;
      } catch (err) {
        if (silent.signal.aborted && !signal.aborted) throw silentError(path, idleMs);
        throw err;
      } finally {
        clearTimeout(timer);
        res?.destroy();
      }
    },
  };
}

async function readAll(res: IncomingMessage): Promise<string> {
  res.setEncoding('utf8');
  let text = '';
  for await (const chunk of res) text += chunk as string;
  return text;
}

function toError(method: string, path: string, status: number, text: string, retryAfter?: string | string[]): KubeApiError {
  let reason = '';
  let message = text.slice(0, 300);
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string };
    reason = s.reason ?? '';
    message = s.message ?? message;
  } catch { /* not a Status */ }
  const wait = (status === 429 || status === 503) && retryAfter !== undefined ? retryAfterMs(retryAfter) : undefined;
  return new KubeApiError(status, reason, `${method} ${path}: ${status} ${reason} ${message}`.trim(), wait);
}

function silentError(path: string, idleMs: number): KubescribeError {
  return new KubescribeError('KUBESCRIBE_ERR_KUBE_WATCH_SILENT', `watch ${path}: nothing received for ${idleMs} ms (no event, no bookmark); reopening`);
}

function abortError(method: string, path: string, signal: AbortSignal, err: Error): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error && reason.name === 'TimeoutError' ? new KubescribeError('KUBESCRIBE_ERR_KUBE_TIMEOUT', `${method} ${path}: ${reason.message}`, { cause: err }) : err;
}
