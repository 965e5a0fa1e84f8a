// The messages between the main thread and the webhook's thread (webhook-thread.ts, thread.ts).
import type { Author } from '../correlation/index.ts';
import type { PeerCall, PeerReply } from '../peers/index.ts';
import type { SanitizeConfig } from '../sanitize/index.ts';
import type { HandleOutcome } from './handler.ts';

/** What the webhook's thread is started with (workerData.kubescribeWebhook): plain data only. */
export interface WebhookThreadConfig {
  host: string;
  port: number;
  path?: string;
  tls?: { certFile: string; keyFile: string };
  maxBodyBytes: number;
  maxRequestsPerConnection: number;
  logLevel?: string;
  /** The Secret hash key: the webhook hashes Secrets as the watch does. */
  secretHashKey: Uint8Array;
  excludeFields: SanitizeConfig['excludeFields'];
  /** Set: the peer routes are served on the webhook's port. */
  peerSecret?: string;
}

export type FromWebhook =
  /** One review handled: its outcome, the handler's time, what it recorded (correlations, causes). */
  | { t: 'review'; outcome: HandleOutcome | 'malformed' | 'error'; seconds: number; records: Array<[string, Author]> }
  /** A peer's request, to be answered by the store (reply: ToWebhook 'peer' with the same id). */
  | { t: 'peer'; id: number; call: PeerCall }
  /** The answer to a ToWebhook request with an id. */
  | { t: 'done'; id: number; value?: unknown; error?: { message: string; code?: string } };

export type ToWebhook =
  | { t: 'peer'; id: number; reply: PeerReply }
  | { t: 'leaving'; value: boolean }
  /** Start listening; done.value is the port. */
  | { t: 'listen'; id: number }
  /** The thread's event-loop delay since the last read; done.value is LoopDelay. */
  | { t: 'loop'; id: number }
  /** Close the server, waiting at most ms for its connections. */
  | { t: 'close'; id: number; ms: number };

export interface LoopDelay { maxSeconds: number; p99Seconds: number }
