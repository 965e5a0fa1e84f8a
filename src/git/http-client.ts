// The HTTP transport for isomorphic-git (fetch) and for our own push (send-pack.ts): Node's
// fetch with a deadline, so that a remote that stops answering can never hold the repository
// lock for long, and with one shape of network error (a TypeError whose cause has the code).
// Through an HTTP proxy when the settings name one (gitTransport.proxyUrl): undici's ProxyAgent
// (Node's own fetch is undici; its package is needed for the agent), CONNECT for https remotes.
// The undici package is loaded only then: a second copy of undici in every process cost ~60 MiB
// of retained heap at 10,000 watched objects (bench/snapshot-memory.ts, 2026-12-05).
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';
import type { ProxyAgent } from 'undici';

type Undici = typeof import('undici');
let proxy: { url: string; noProxy: readonly string[]; agent?: Promise<{ undici: Undici; agent: ProxyAgent }> } | undefined;

/** Sets the proxy for every Git remote (once, at start, from the settings); undefined: direct. */
export function configureGitTransport(o: { proxyUrl?: string; noProxy?: readonly string[] }): void {
  void proxy?.agent?.then((a) => a.agent.close());
  proxy = o.proxyUrl ? { url: o.proxyUrl, noProxy: o.noProxy ?? [] } : undefined;
}

function bypass(url: string, noProxy: readonly string[]): boolean {
  const host = new URL(url).hostname.toLowerCase();
  return noProxy.some((n) => n === '*' || n.toLowerCase() === host || (n.startsWith('.') && host.endsWith(n.toLowerCase())));
}

/** fetch for Git requests: through the configured proxy unless the host is exempt. */
export async function gitFetch(url: string, init: RequestInit): Promise<Response> {
  if (!proxy || bypass(url, proxy.noProxy)) return fetch(url, init);
  const p = proxy;
  p.agent ??= import('undici').then((undici) => ({ undici, agent: new undici.ProxyAgent(p.url) }));
  const { undici, agent } = await p.agent;
  return undici.fetch(url, { ...(init as object), dispatcher: agent } as Parameters<Undici['fetch']>[1]) as unknown as Response;
}

/** Longest a single request may take, body included. */
export const REQUEST_TIMEOUT_MS = 120_000;

async function collect(body: GitHttpRequest['body']): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (!body) return undefined;
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    parts.push(chunk);
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

async function* chunks(stream: ReadableStream<Uint8Array> | null): AsyncGenerator<Uint8Array> {
  if (!stream) return;
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) yield chunk;
}

export const httpClient: HttpClient = {
  async request(req: GitHttpRequest): Promise<GitHttpResponse> {
    const res = await gitFetch(req.url, {
      method: req.method ?? 'GET',
      headers: req.headers,
      body: await collect(req.body),
      redirect: 'follow',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const headers: Record<string, string> = {};
    res.headers.forEach((value, key) => { headers[key] = value; });
    return { url: res.url, method: req.method, statusCode: res.status, statusMessage: res.statusText, headers, body: chunks(res.body) };
  },
};
