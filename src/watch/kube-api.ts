// A small Kubernetes API client for what the watch needs: JSON GETs and a watch stream read line
// by line. Where the API is and how to authenticate comes from kube-config.ts; the streaming is
// ours so that a slow consumer slows the reading (back-pressure) and every error is seen (the
// client-node informer stops on non-410 errors).
import { Agent, request, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import { KubescribeError } from '../errors.ts';
import type { KubeConnection } from './kube-config.ts';

export interface KubeApi {
  server: string;
  getJson<T>(path: string, opts?: { signal?: AbortSignal }): Promise<T>;
  /** Sends a JSON body (POST/PUT/PATCH); resolves with the parsed answer. */
  send<T>(method: string, path: string, body: unknown, opts?: { contentType?: string }): Promise<T>;
  /** Lines of a streaming response (watch); ends when the server closes the stream. */
  streamLines(path: string, signal: AbortSignal): AsyncGenerator<string>;
}

export class KubeApiError extends KubescribeError {
  readonly status: number;
  readonly reason: string;
  constructor(status: number, reason: string, message: string) {
    super('KUBESCRIBE_ERR_KUBE_API', message);
    this.status = status;
    this.reason = reason;
  }
}

export function createKubeApi(conn: KubeConnection): KubeApi {
  const server = conn.server;
  const agent = new Agent({ keepAlive: true, maxSockets: 32 });

  async function open(method: string, path: string, body: string | undefined, headers: Record<string, string>, signal?: AbortSignal) {
    const url = new URL(server + path);
    const opts: RequestOptions = { method, headers: { accept: 'application/json', ...headers }, signal };
    await conn.apply(opts);
    const isHttps = url.protocol === 'https:';
    if (isHttps) opts.agent = agent;
    const send = isHttps ? request : httpRequest;
    return await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = send(url, opts, resolve);
      req.on('error', (err) => reject(signal?.aborted ? err : new KubescribeError('KUBESCRIBE_ERR_KUBE_API', `${method} ${path}: ${err.message}`, { cause: err })));
      req.end(body);
    });
  }

  async function readAll(res: import('node:http').IncomingMessage): Promise<string> {
    res.setEncoding('utf8');
    let text = '';
    for await (const chunk of res) text += chunk as string;
    return text;
  }

  function toError(method: string, path: string, status: number, text: string): KubeApiError {
    let reason = '';
    let message = text.slice(0, 300);
    try {
      const s = JSON.parse(text) as { reason?: string; message?: string };
      reason = s.reason ?? '';
      message = s.message ?? message;
    } catch { /* not a Status */ }
    return new KubeApiError(status, reason, `${method} ${path}: ${status} ${reason} ${message}`.trim());
  }

  return {
    server,
    async getJson<T>(path: string, opts?: { signal?: AbortSignal }): Promise<T> {
      const res = await open('GET', path, undefined, {}, opts?.signal);
      const text = await readAll(res);
      if ((res.statusCode ?? 0) >= 300) throw toError('GET', path, res.statusCode ?? 0, text);
      return JSON.parse(text) as T;
    },
    async send<T>(method: string, path: string, body: unknown, opts?: { contentType?: string }): Promise<T> {
      const res = await open(method, path, JSON.stringify(body), { 'content-type': opts?.contentType ?? 'application/json' });
      const text = await readAll(res);
      if ((res.statusCode ?? 0) >= 300) throw toError(method, path, res.statusCode ?? 0, text);
      return JSON.parse(text) as T;
    },
    async *streamLines(path: string, signal: AbortSignal): AsyncGenerator<string> {
      const res = await open('GET', path, undefined, {}, signal);
      if ((res.statusCode ?? 0) >= 300) throw toError('GET', path, res.statusCode ?? 0, await readAll(res));
      res.setEncoding('utf8');
      let buf = '';
      try {
        for await (const chunk of res) {
          buf += chunk as string;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim() !== '') yield line;
          }
        }
      } finally {
        res.destroy();
      }
      if (buf.trim() !== '') yield buf;
    },
  };
}
