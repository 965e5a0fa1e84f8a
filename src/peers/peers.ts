// Correlations shared between replicas: every replica serves the webhook, only the leader watches,
// so each recorded correlation is pushed to the other replicas at once (gathered for PUSH_BATCH_MS,
// pushes at least PUSH_SPACING_MS apart, in parallel, never delaying the admission answer;
// recording twice is harmless), and replicas pull
// from each other — at start of leadership and periodically, the fallback for pushes that were
// lost. A pull is incremental: the puller keeps a cursor per peer (the peer's epoch and the sequence
// number of the last change it got) and gets only the keys changed after it, oldest first, in
// chunks of at most PULL_CHUNK keys (`more` says to ask again); 304 when nothing changed. So neither
// side serializes or parses the whole store on the event loop that answers admission. A cursor of
// another epoch (the peer restarted) starts over from the beginning. A leader still missing a
// correlation after its miss wait asks every peer for just those keys (PEER_LOOKUP_PATH), read
// there without being consumed. Peers authenticate with a shared secret, compared in constant
// time; a wrong or missing secret gets 401 and nothing is accepted.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Agent, request } from 'node:https';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Author, CorrelationStore } from '../correlation/index.ts';

export const PEER_SECRET_HEADER = 'x-kubescribe-peer-secret';
export const PEER_PATH = '/peers/correlations';
/** POST {keys}: the entries a peer holds for those keys, read without being consumed (the leader's misses). */
export const PEER_LOOKUP_PATH = '/peers/correlations/lookup';
/** At most this many keys per lookup request. */
export const MAX_LOOKUP_KEYS = 10_000;
/** Keys a pull answer holds at most (~1,000 × a few hundred bytes: a few ms to serialize). */
export const PULL_CHUNK = 1000;
/** How long correlations are gathered before they are pushed to the peers (see notify). */
export const PUSH_BATCH_MS = 10;
/** At least this long between two pushes (see notify). */
export const PUSH_SPACING_MS = 50;

type Entry = [string, Author[]];

export function sameSecret(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  // Hash first: timingSafeEqual needs equal lengths, and the length must not leak either.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

export interface PeerEvents {
  pushed?: (ok: boolean) => void;
  pulled?: (result: 'changed' | 'not-modified' | 'failed') => void;
  /** One lookup of missing keys at one peer: how many it held, or failed. */
  lookedUp?: (result: 'found' | 'not-found' | 'failed', keys: number) => void;
}

/** A pull's answer: GET PEER_PATH?epoch=<epoch>&after=<next>. */
export interface PullAnswer { epoch: string; next: number; more: boolean; entries: Entry[] }

/** What a peer's request asks of the correlation store: answered where the store lives. */
export type PeerCall =
  | { op: 'push'; body: unknown }
  | { op: 'lookup'; body: unknown }
  | { op: 'pull'; query: { epoch?: string; after?: string } };

/** The answer to a PeerCall: a status and the JSON body already serialized (none for 204/304). */
export interface PeerReply { status: number; json?: string }

const malformed = (message: string): PeerReply => ({ status: 400, json: JSON.stringify({ code: 'KUBESCRIBE_ERR_PEER_MALFORMED', message }) });

/**
 * Answers peers' calls from the store. The webhook may run on a thread of its own
 * (admission/thread.ts): then its routes pass each call here, to the thread that holds the store,
 * and get back the body serialized there, so that a pull's answer is built off the admission
 * thread.
 */
export function storePeerAnswers(opts: { store: CorrelationStore; onReceived?: (n: number) => void; chunk?: number }): (call: PeerCall) => PeerReply {
  return (call) => {
    switch (call.op) {
      case 'push': {
        const body = call.body as { entries?: unknown } | undefined;
        if (!Array.isArray(body?.entries)) return malformed('entries must be a list of [key, authors]');
        let n = 0;
        for (const e of body.entries as unknown[]) {
          if (!isEntry(e)) return malformed('each entry must be [key, [{username, groups}]]');
          for (const a of e[1]) opts.store.record(e[0], a);
          n++;
        }
        opts.onReceived?.(n);
        return { status: 204 };
      }
      case 'lookup': {
        const keys = (call.body as { keys?: unknown } | undefined)?.keys;
        if (!Array.isArray(keys) || keys.length > MAX_LOOKUP_KEYS || !keys.every((k) => typeof k === 'string')) {
          return malformed(`keys must be a list of at most ${MAX_LOOKUP_KEYS} strings`);
        }
        const entries: Entry[] = [];
        for (const k of keys as string[]) {
          const authors = opts.store.peek(k);
          if (authors) entries.push([k, authors]);
        }
        return { status: 200, json: JSON.stringify({ entries }) };
      }
      case 'pull': {
        const after = Number(call.query.after ?? 0);
        if (!Number.isSafeInteger(after) || after < 0) return malformed('after must be a sequence number (an integer ≥ 0)');
        if (!opts.store.changedSince(call.query.epoch, after)) return { status: 304 };
        const answer: PullAnswer = opts.store.changesSince(call.query.epoch, after, opts.chunk ?? PULL_CHUNK);
        return { status: 200, json: JSON.stringify(answer) };
      }
    }
  };
}

/**
 * Routes on the webhook's TLS server: POST to receive pushed correlations, POST lookup, GET to be
 * pulled. The secret is checked here; `answer` does the rest (storePeerAnswers, maybe on another
 * thread).
 */
export function peerRoutes(opts: { secret: string; answer: (call: PeerCall) => PeerReply | Promise<PeerReply> }): FastifyPluginAsync {
  return async (app) => {
    app.addHook('onRequest', async (req, reply) => {
      if (!sameSecret(req.headers[PEER_SECRET_HEADER] as string | undefined, opts.secret)) {
        req.log.warn({ peer: req.ip }, 'peer request with a wrong or missing secret refused');
        return reply.code(401).send({ code: 'KUBESCRIBE_ERR_PEER_UNAUTHORIZED', message: 'wrong or missing peer secret' });
      }
    });
    const send = async (call: PeerCall, reply: FastifyReply): Promise<FastifyReply> => {
      const r = await opts.answer(call);
      reply.code(r.status);
      return r.json === undefined ? reply.send() : reply.type('application/json; charset=utf-8').send(r.json);
    };
    app.post(PEER_PATH, async (req, reply) => send({ op: 'push', body: req.body }, reply));
    app.post(PEER_LOOKUP_PATH, async (req, reply) => send({ op: 'lookup', body: req.body }, reply));
    app.get(PEER_PATH, async (req, reply) => {
      const q = req.query as { epoch?: unknown; after?: unknown };
      const query = { ...(typeof q.epoch === 'string' ? { epoch: q.epoch } : {}), ...(q.after !== undefined ? { after: String(q.after) } : {}) };
      return send({ op: 'pull', query }, reply);
    });
  };
}

/** Records the well-formed [key, authors] entries of a peer's answer (pull or lookup); how many. */
function recordEntries(entries: unknown, store: CorrelationStore): number {
  if (!Array.isArray(entries)) throw new Error('a peer answer without entries');
  let n = 0;
  for (const e of entries) {
    if (!isEntry(e)) continue;
    for (const a of e[1]) store.record(e[0], a);
    n++;
  }
  return n;
}

function isEntry(e: unknown): e is Entry {
  return Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && Array.isArray(e[1]) && e[1].length > 0 && e[1].every((a: unknown) =>
    typeof a === 'object' && a !== null && typeof (a as Author).username === 'string' && Array.isArray((a as Author).groups) && (a as Author).groups.every((g) => typeof g === 'string')
    && ((a as Author).deleted === undefined || typeof (a as Author).deleted === 'string'));
}

export interface PeerClientOptions {
  secret: string;
  /** The other replicas' base URLs (https://host:port), read at every use (discovery updates them). */
  peers: () => string[];
  /** The CA of the peers' certificates: always verified (a peer secret without a CA is refused at start). */
  ca: Buffer;
  timeoutMs?: number;
  /** Default PUSH_BATCH_MS. */
  pushBatchMs?: number;
  /** Default PUSH_SPACING_MS. */
  pushSpacingMs?: number;
  events?: PeerEvents;
}

/** Sends and pulls correlations to and from the other replicas. */
export class PeerClient {
  private batch: Entry[] = [];
  private scheduled = false;
  private lastPush = -Infinity;
  private readonly agent: Agent;
  /** For a retry: a connection of its own, never a kept-alive one. */
  private readonly freshAgent: Agent;
  /** Per peer URL: how far its changes have been pulled. */
  private readonly cursors = new Map<string, { epoch: string; next: number }>();

  constructor(private readonly o: PeerClientOptions) {
    // Peers are addressed by pod IP: the CA is checked, the host name in the certificate is not.
    this.agent = new Agent({ keepAlive: true, ca: o.ca, checkServerIdentity: () => undefined, rejectUnauthorized: true });
    this.freshAgent = new Agent({ keepAlive: false, ca: o.ca, checkServerIdentity: () => undefined, rejectUnauthorized: true });
  }

  /**
   * Queue one correlation. A push leaves PUSH_BATCH_MS after the first entry queued, but never
   * sooner than PUSH_SPACING_MS after the previous push: everything queued meanwhile goes in one
   * request per peer. A change after a quiet spell reaches the peers within 10 ms; under load each
   * peer gets at most 20 pushes a second whatever the rate. Batching per tick sent one entry a
   * request, and a fixed 10 ms still ~100 requests a second a peer at a few hundred reviews/s: with
   * 3 replicas each replica then answered ~200 pushes a second on the webhook's port beside its
   * ~333 reviews. Spaced, bench/replica-admission.ts counts 21 pushes a second a replica against
   * 74 (its p99 moved within the noise: better in 4 of 6 rounds). Both delays are far inside the
   * leader's miss wait (500 ms); the price is that a replica killed under load takes up to 50 ms
   * of correlations with it instead of 10 (those changes are committed, as `unknown`).
   */
  notify(key: string, author: Author): void {
    if (this.o.peers().length === 0) return;
    this.batch.push([key, [author]]);
    if (this.scheduled) return;
    this.scheduled = true;
    const now = Date.now();
    const at = Math.max(now + (this.o.pushBatchMs ?? PUSH_BATCH_MS), this.lastPush + (this.o.pushSpacingMs ?? PUSH_SPACING_MS));
    setTimeout(() => {
      this.scheduled = false;
      this.lastPush = Date.now();
      const entries = this.batch;
      this.batch = [];
      const body = JSON.stringify({ entries });
      for (const peer of this.o.peers()) void this.push(peer, body);
    }, at - now);
  }

  /**
   * One batch to one peer. A failed request is sent once more on a fresh connection: under load a
   * kept-alive connection may be closed by the peer just as it is reused, and a correlation that
   * does not arrive within the leader's miss wait is an `unknown` commit (the periodic pull comes
   * too late for it). Recording twice is harmless.
   */
  private async push(peer: string, body: string): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const r = await this.call('POST', peer, PEER_PATH, body, attempt > 0);
        this.o.events?.pushed?.(r.status === 204);
        return;
      } catch {
        if (attempt > 0) this.o.events?.pushed?.(false);
      }
    }
  }

  /**
   * Pulls every peer's correlations changed since the last pull into the store, chunk after chunk
   * until the peer has no more (each chunk recorded before the next is asked for, so a long catch-up
   * never holds the event loop for long). A failure keeps the cursor where it got to.
   */
  async pullAll(store: CorrelationStore): Promise<void> {
    await Promise.all(this.o.peers().map(async (peer) => {
      try {
        let changed = false;
        for (let more = true; more;) {
          const c = this.cursors.get(peer);
          const r = await this.call('GET', peer, `${PEER_PATH}${c ? `?epoch=${encodeURIComponent(c.epoch)}&after=${c.next}` : ''}`);
          if (r.status === 304) break;
          if (r.status !== 200) throw new Error(`status ${r.status}`);
          const answer = JSON.parse(r.body) as Partial<PullAnswer>;
          recordEntries(answer.entries, store);
          changed = true;
          // An answer without a cursor (a peer of an older version sends its whole store) is complete.
          if (typeof answer.epoch !== 'string' || typeof answer.next !== 'number') break;
          // A cursor that does not advance would loop: stop, the next pull goes on from there.
          more = answer.more === true && answer.next > (c?.epoch === answer.epoch ? c.next : 0);
          this.cursors.set(peer, { epoch: answer.epoch, next: answer.next });
        }
        this.o.events?.pulled?.(changed ? 'changed' : 'not-modified');
      } catch {
        this.o.events?.pulled?.('failed');
      }
    }));
  }

  /**
   * Asks every peer for these keys and records what they hold: the leader's last try for a change
   * whose correlation did not arrive within the miss wait (a push that failed twice under load).
   * Costs the keys asked, not the whole store as a pull does.
   */
  async lookup(keys: readonly string[], store: CorrelationStore): Promise<void> {
    if (keys.length === 0) return;
    await Promise.all(this.o.peers().map(async (peer) => {
      for (let i = 0; i < keys.length; i += MAX_LOOKUP_KEYS) {
        const chunk = keys.slice(i, i + MAX_LOOKUP_KEYS);
        try {
          const r = await this.call('POST', peer, PEER_LOOKUP_PATH, JSON.stringify({ keys: chunk }));
          if (r.status !== 200) throw new Error(`status ${r.status}`);
          const found = recordEntries((JSON.parse(r.body) as { entries?: unknown }).entries, store);
          this.o.events?.lookedUp?.(found > 0 ? 'found' : 'not-found', chunk.length);
        } catch {
          this.o.events?.lookedUp?.('failed', chunk.length);
        }
      }
    }));
  }

  close(): void {
    this.agent.destroy();
    this.freshAgent.destroy();
  }

  private call(method: string, base: string, path: string, body?: string, fresh = false): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, base), {
        method, agent: fresh ? this.freshAgent : this.agent, timeout: this.o.timeoutMs ?? 2000,
        headers: { [PEER_SECRET_HEADER]: this.o.secret, ...(body ? { 'content-type': 'application/json' } : {}) },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('timeout', () => req.destroy(new Error('peer timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
