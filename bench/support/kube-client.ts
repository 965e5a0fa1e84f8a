// A small Kubernetes API client for the benchmarks: HTTPS with a stack user's client certificate
// (alice, admin, ...) and a keep-alive agent, so that 100s of requests/s cost no process each
// (kubectl would). Also bulk creation of ConfigMaps with bounded concurrency.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { dirname, join } from 'node:path';
import type { StackEnv } from '../../e2e/stack/env.ts';

export interface KubeResponse { status: number; body: string }

export class KubeClient {
  private readonly agent: Agent;
  private readonly server: URL;

  constructor(env: Pick<StackEnv, 'apiserver'>, user: string, maxSockets = 64) {
    const pki = dirname(env.apiserver.caFile);
    this.server = new URL(env.apiserver.server);
    this.agent = new Agent({
      keepAlive: true, maxSockets,
      ca: readFileSync(env.apiserver.caFile), cert: readFileSync(join(pki, `user-${user}.crt`)), key: readFileSync(join(pki, `user-${user}.key`)),
    });
  }

  send(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<KubeResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request({
        host: this.server.hostname, port: this.server.port, path, method, agent: this.agent, timeout: 30_000,
        headers: { accept: 'application/json', ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async ok(method: string, path: string, body?: unknown, contentType?: string): Promise<KubeResponse> {
    const r = await this.send(method, path, body, contentType);
    if (r.status >= 300 && !(method === 'POST' && r.status === 409)) throw new Error(`${method} ${path}: ${r.status} ${r.body.slice(0, 300)}`);
    return r;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Creates the namespace (if missing) and ConfigMaps `prefix-<from>` .. `prefix-<to - 1>`; existing ones are left alone. */
export async function createConfigMaps(client: KubeClient, namespace: string, o: { from: number; to: number; prefix?: string; concurrency?: number; onProgress?: (done: number) => void }): Promise<void> {
  await client.ok('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const prefix = o.prefix ?? 'cm';
  let next = o.from;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < o.to) {
      const i = next++;
      const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}`, namespace, labels: { app: 'bench' } }, data: { index: String(i), payload: 'x'.repeat(64) } };
      for (let attempt = 1; ; attempt++) {
        const r = await client.send('POST', `/api/v1/namespaces/${namespace}/configmaps`, body).catch((err: Error) => ({ status: 0, body: err.message }));
        if (r.status < 300 || r.status === 409) break;
        if (attempt >= 5) throw new Error(`creating ${prefix}-${i}: ${r.status} ${r.body.slice(0, 300)}`);
        await new Promise((res) => setTimeout(res, 200 * attempt));
      }
      if (++done % 1000 === 0) o.onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 32 }, worker));
}
