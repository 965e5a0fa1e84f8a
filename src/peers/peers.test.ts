import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { CorrelationStore } from '../correlation/index.ts';
import { PEER_LOOKUP_PATH, PEER_PATH, PEER_SECRET_HEADER, PeerClient, peerRoutes, storePeerAnswers } from './peers.ts';

describe('PeerClient pushes', () => {
  let dir: string;
  let cert: Buffer;
  let key: Buffer;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubescribe-peers-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=peer',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    cert = readFileSync(join(dir, 'cert.pem'));
    key = readFileSync(join(dir, 'key.pem'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A peer that drops the first `drops` pushes without answering (the connection reset), then accepts. */
  async function peer(drops: number): Promise<{ server: Server; url: string; received: unknown[] }> {
    const received: unknown[] = [];
    let seen = 0;
    const server = createServer({ cert, key }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (req.url !== PEER_PATH) { res.writeHead(404).end(); return; }
        if (seen++ < drops) { req.socket.destroy(); return; }
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return { server, url: `https://127.0.0.1:${(server.address() as { port: number }).port}`, received };
  }

  const until = async (ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it.each([
    { drops: 1, pushed: [true], delivered: 1, what: 'sends a push that failed once more, on a fresh connection, and counts one success' },
    { drops: 2, pushed: [false], delivered: 0, what: 'gives up after the second failure and counts one failed push' },
  ])('$what', async ({ drops, pushed, delivered }) => {
    const p = await peer(drops);
    const results: boolean[] = [];
    const client = new PeerClient({ secret: 's'.repeat(16), peers: () => [p.url], ca: cert, events: { pushed: (ok) => results.push(ok) } });
    client.notify('k1', { username: 'alice', groups: [] });
    await until(() => results.length > 0);
    expect(results).toEqual(pushed);
    expect(p.received).toEqual(Array.from({ length: delivered }, () => ({ entries: [['k1', [{ username: 'alice', groups: [] }]]] })));
    client.close();
    p.server.close();
  });

  it('looks up missing keys: only those a peer holds come back, and they stay there; a wrong ask is refused', async () => {
    const secret = 's'.repeat(16);
    const alice = { username: 'alice', groups: ['devs'] };
    const held = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    held.record('k-held', alice);
    held.record('k-other', { username: 'bob', groups: [] });
    const app = Fastify({ https: { cert, key } });
    await app.register(peerRoutes({ secret, answer: storePeerAnswers({ store: held }) }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const mine = new CorrelationStore({ ttlMs: 60_000, maxEntries: 100 });
    const results: Array<[string, number]> = [];
    const client = new PeerClient({ secret, peers: () => [url], ca: cert, events: { lookedUp: (r, n) => results.push([r, n]) } });
    try {
      await client.lookup(['k-held', 'k-missing'], mine);
      expect(await mine.waitFor(['k-held'], 0)).toEqual([alice]);
      expect(await mine.waitFor(['k-missing', 'k-other'], 0)).toBeUndefined(); // only what was asked
      expect(held.peek('k-held')).toEqual([alice]); // not consumed at the peer
      expect(results).toEqual([['found', 2]]);
      await client.lookup(['k-missing'], mine);
      expect(results.at(-1)).toEqual(['not-found', 1]);
      const ask = (headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url: PEER_LOOKUP_PATH, headers, payload: payload as object });
      expect((await ask({ [PEER_SECRET_HEADER]: 'wrong' }, { keys: ['k-held'] })).statusCode).toBe(401);
      expect((await ask({ [PEER_SECRET_HEADER]: secret }, { keys: 'k-held' })).json()).toMatchObject({ code: 'KUBESCRIBE_ERR_PEER_MALFORMED' });
      expect((await ask({ [PEER_SECRET_HEADER]: secret }, { keys: Array.from({ length: 10_001 }, (_, i) => `k${i}`) })).statusCode).toBe(400);
    } finally {
      client.close();
      await app.close();
    }
  });

  it('gathers the correlations of a few ms into one request per peer', async () => {
    const p = await peer(0);
    const client = new PeerClient({ secret: 's'.repeat(16), peers: () => [p.url], ca: cert, pushBatchMs: 30 });
    for (let i = 0; i < 5; i++) {
      client.notify(`k${i}`, { username: 'alice', groups: [] });
      await new Promise((r) => setTimeout(r, 2)); // separate event-loop turns, as separate reviews come
    }
    await until(() => p.received.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    expect(p.received).toEqual([{ entries: Array.from({ length: 5 }, (_, i) => [`k${i}`, [{ username: 'alice', groups: [] }]]) }]);
    client.close();
    p.server.close();
  });

  it('under a steady stream, pushes at most one request per spacing; after a quiet spell, at once again', async () => {
    const p = await peer(0);
    const client = new PeerClient({ secret: 's'.repeat(16), peers: () => [p.url], ca: cert, pushBatchMs: 5, pushSpacingMs: 200 });
    const sent: number[] = [];
    const t0 = Date.now();
    for (let i = 0; i < 60; i++) { // 60 reviews, one every ~5 ms: ~300 ms
      client.notify(`k${i}`, { username: 'alice', groups: [] });
      sent.push(Date.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => (p.received as Array<{ entries: unknown[] }>).flatMap((b) => b.entries).length === 60);
    const batches = p.received as Array<{ entries: unknown[] }>;
    expect(batches.flatMap((b) => b.entries).map((e) => (e as [string])[0])).toEqual(Array.from({ length: 60 }, (_, i) => `k${i}`)); // none lost, in order
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(sent.at(-1)! / 200) + 2); // ~3, not 60
    await new Promise((r) => setTimeout(r, 250)); // quiet
    const before = Date.now();
    client.notify('late', { username: 'bob', groups: [] });
    await until(() => batches.length > 0 && JSON.stringify(batches.at(-1)).includes('late'));
    expect(Date.now() - before).toBeLessThan(150); // the batch time, not a spacing
    client.close();
    p.server.close();
  });
});

describe('the incremental pull', () => {
  const secret = 's'.repeat(16);
  const alice = { username: 'alice', groups: ['devs'] };
  const store = (): CorrelationStore => new CorrelationStore({ ttlMs: 60_000, maxEntries: 1000 });
  async function app(s: CorrelationStore, chunk = 3) {
    const a = Fastify();
    await a.register(peerRoutes({ secret, answer: storePeerAnswers({ store: s, chunk }) }));
    const get = async (query = '', withSecret = secret) => {
      const r = await a.inject({ method: 'GET', url: `${PEER_PATH}${query}`, headers: withSecret ? { [PEER_SECRET_HEADER]: withSecret } : {} });
      return { status: r.statusCode, body: r.body ? JSON.parse(r.body) as { epoch: string; next: number; more: boolean; entries: Array<[string, unknown]> } : undefined };
    };
    return { a, get };
  }

  it('answers the keys changed after the cursor in chunks, then 304; a new record comes alone', async () => {
    const s = store();
    for (let i = 0; i < 7; i++) s.record(`k${i}`, alice);
    const { a, get } = await app(s);
    const keys: string[] = [];
    let q = '';
    let last;
    for (let i = 0; i < 10; i++) {
      last = await get(q);
      if (last.status === 304) break;
      expect(last.status).toBe(200);
      expect(last.body!.entries.length).toBeLessThanOrEqual(3);
      keys.push(...last.body!.entries.map(([k]) => k));
      q = `?epoch=${last.body!.epoch}&after=${last.body!.next}`;
      if (!last.body!.more) break;
    }
    expect(keys).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6']);
    expect((await get(q)).status).toBe(304);
    s.record('k3', { username: 'bob', groups: [] });
    expect((await get(q)).body!.entries).toEqual([['k3', [alice, { username: 'bob', groups: [] }]]]);
    // Not a change for a pull: a key matched (consumed) by the watch.
    const after = (await get(q)).body!;
    s.take('k1');
    expect((await get(`?epoch=${after.epoch}&after=${after.next}`)).status).toBe(304);
    await a.close();
  });

  it('refuses a wrong or missing secret (401) and a cursor that is not a number (400)', async () => {
    const { a, get } = await app(store());
    expect((await get('', 'wrong-secret-wrong')).status).toBe(401);
    expect((await get('', '')).status).toBe(401);
    expect((await get('?epoch=x&after=-1')).status).toBe(400);
    expect((await get('?epoch=x&after=abc')).status).toBe(400);
    await a.close();
  });

  it('PeerClient.pullAll brings every chunk into the store, then asks from its cursor only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubescribe-pull-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=peer',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'cert.pem'));
    const source = store();
    for (let i = 0; i < 8; i++) source.record(`k${i}`, alice);
    const server = Fastify({ https: { cert, key: readFileSync(join(dir, 'key.pem')) } });
    const urls: string[] = [];
    server.addHook('onRequest', async (req) => { urls.push(req.url); });
    await server.register(peerRoutes({ secret, answer: storePeerAnswers({ store: source, chunk: 3 }) }));
    await server.listen({ host: '127.0.0.1', port: 0 });
    const pulled: string[] = [];
    const client = new PeerClient({ secret, ca: cert, peers: () => [`https://127.0.0.1:${(server.server.address() as { port: number }).port}`], events: { pulled: (r) => pulled.push(r) } });
    try {
      const target = store();
      await client.pullAll(target);
      expect(target.size).toBe(8);
      expect(urls).toHaveLength(3); // 3 + 3 + 2 keys
      expect(urls[0]).toBe(PEER_PATH);
      source.record('k9', { username: 'carol', groups: [] });
      urls.length = 0;
      await client.pullAll(target);
      expect(target.peek('k9')).toEqual([{ username: 'carol', groups: [] }]);
      expect(urls).toEqual([`${PEER_PATH}?epoch=${source.changesSince(undefined, 0, 1).epoch}&after=8`]);
      await client.pullAll(target);
      expect(pulled).toEqual(['changed', 'changed', 'not-modified']);
    } finally {
      client.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
