// The HTTP transport for isomorphic-git (fetch) and for our own push (send-pack.ts): Node's
// fetch with a deadline, so that a remote that stops answering can never hold the repository
// lock for long, and with one shape of network error (a TypeError whose cause has the code).
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

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
    const res = await fetch(req.url, {
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
