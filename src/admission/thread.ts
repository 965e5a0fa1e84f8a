// The main thread's side of the webhook's thread (webhook-thread.ts). Admission runs on a thread of
// its own because the main event loop also runs the watch and the Git writers: a review that
// arrived during a commit, a large list or the full GC after a snapshot waited for it, and the
// apiserver waited with it (issue 19: +5 to +18 ms on alice's p99 PATCH, event-loop stalls of
// 44–385 ms on replicas). The thread costs ~20 MiB of RSS (a second V8 heap). Each review's records
// reach the store here, in the order the thread handled them; the store and everything that reads
// it stay on the main thread.
import { extname } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Author } from '../correlation/index.ts';
import type { PeerCall, PeerReply } from '../peers/index.ts';
import type { HandleOutcome } from './handler.ts';
import type { FromWebhook, LoopDelay, ToWebhook, WebhookThreadConfig } from './thread-protocol.ts';
import { serveWebhook } from './webhook-thread.ts';

/** A Worker, or one end of a MessageChannel whose other end runs serveWebhook (tests). */
export interface WebhookPort {
  postMessage(m: ToWebhook): void;
  on(event: 'message', fn: (m: FromWebhook) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  on(event: 'exit', fn: (code: number) => void): unknown;
  terminate?(): Promise<number>;
  close?(): void;
}

export interface WebhookThreadOptions {
  config: WebhookThreadConfig;
  /** Every review handled, with what it recorded (correlations and causes), in order. */
  onReview: (outcome: HandleOutcome | 'malformed' | 'error', seconds: number, records: Array<[string, Author]>) => void;
  /** Answers the peer routes' calls (storePeerAnswers); needed when config.peerSecret is set. */
  answerPeer?: (call: PeerCall) => PeerReply;
  /** The thread stopped on its own (an uncaught error): the webhook no longer answers. */
  onFailed: (err: Error) => void;
  logger: Logger;
  /** Default: a Worker running webhook-thread beside this module (dist/webhook-thread.mjs in the bundle). */
  spawn?: (config: WebhookThreadConfig) => WebhookPort;
}

export class WebhookThread {
  private readonly port: WebhookPort;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private closing = false;
  private failed: Error | undefined;

  constructor(private readonly opts: WebhookThreadOptions) {
    this.port = (opts.spawn ?? spawnWorker)(opts.config);
    this.port.on('message', (m) => this.receive(m));
    this.port.on('error', (err) => this.fail(err));
    this.port.on('exit', (code) => this.fail(new Error(`the webhook thread exited with code ${code}`)));
  }

  /** Listens on the configured address; resolves with the port (the configured one, or the one chosen for 0). */
  async listen(): Promise<number> {
    return await this.request({ t: 'listen' }) as number;
  }

  /** While true every answer closes its connection: the caller reconnects to another replica. */
  setLeaving(value: boolean): void {
    this.port.postMessage({ t: 'leaving', value });
  }

  /** The webhook thread's event-loop delay since the last call (what a review waited for at most). */
  async loopDelay(): Promise<LoopDelay> {
    return await this.request({ t: 'loop' }) as LoopDelay;
  }

  /** Closes the server (connections get at most `ms`), then ends the thread. */
  async close(ms: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (!this.failed) await this.request({ t: 'close', ms }).catch(() => undefined);
    await this.port.terminate?.();
    this.port.close?.();
  }

  /** Sends a request that the thread answers with 'done' and the same id. */
  private request(m: { t: 'listen' } | { t: 'loop' } | { t: 'close'; ms: number }): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.port.postMessage({ ...m, id });
    });
  }

  private receive(m: FromWebhook): void {
    switch (m.t) {
      case 'review':
        this.opts.onReview(m.outcome, m.seconds, m.records);
        return;
      case 'peer': {
        let reply: PeerReply;
        try {
          reply = this.opts.answerPeer?.(m.call) ?? { status: 404 };
        } catch (err) {
          this.opts.logger.error({ err, op: m.call.op }, 'answering a peer failed');
          reply = { status: 500, json: JSON.stringify({ code: 'KUBESCRIBE_ERR_INTERNAL', message: 'answering a peer failed' }) };
        }
        this.port.postMessage({ t: 'peer', id: m.id, reply });
        return;
      }
      case 'done': {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
        else p?.resolve(m.value);
        return;
      }
    }
  }

  private fail(err: Error): void {
    if (this.closing || this.failed) return;
    this.failed = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.opts.onFailed(err);
  }
}

/**
 * The same server on the main thread (webhook.ownThread false): a MessageChannel instead of a
 * Worker, so that both arrangements run one code path.
 */
export function inProcessWebhook(config: WebhookThreadConfig): WebhookPort {
  const { port1, port2 } = new MessageChannel();
  void serveWebhook(port2, config);
  return port1 as unknown as WebhookPort;
}

function spawnWorker(config: WebhookThreadConfig): WebhookPort {
  // Beside this module: dist/webhook-thread.mjs next to the bundle (dist/kubescribe.mjs), or
  // webhook-thread.js/.ts next to thread.js/.ts (tsc's output, the sources under tsx).
  const here = import.meta.url;
  const file = here.endsWith('.mjs') ? new URL('./webhook-thread.mjs', here) : new URL(`./webhook-thread${extname(new URL(here).pathname)}`, here);
  return new Worker(file, { workerData: { kubescribeWebhook: config }, name: 'kubescribe-webhook' }) as unknown as WebhookPort;
}
