// The git writer's public types: what the queue hands in (CommitInput), what status callbacks
// receive (PushResult) and how a writer is configured (GitWriterOptions, defaults in writer.ts).
import type { Logger } from 'pino';
import type { KubescribeError } from '../errors.ts';
import type { CommitSigner } from './signing.ts';

/** One file of a commit; content null deletes the file. */
export interface FileChange { path: string; content: string | null }

export interface CommitInput {
  changes: FileChange[];
  author: { name: string; email: string; /** unix seconds; default now */ timestamp?: number };
  /** Full message: subject, body, trailers. */
  message: string;
}

export interface PushResult {
  ok: boolean;
  /** The branch tip that was pushed (or is waiting to be). */
  sha?: string;
  pushedCommits: number;
  /** Pack bytes of the rounds the remote accepted (absent: nothing was sent). */
  pushedBytes?: number;
  durationMs: number;
  error?: KubescribeError;
  at: Date;
  /** The last repair or rebuild of the writer's local store, if any (for `.status`). */
  storeRepair?: StoreRepair;
}

/** What the writer did about a damaged local store (see rebuild-store.ts). */
export interface StoreRepair {
  at: Date;
  /** repaired: the journal was set right in place; rebuilt: a fresh clone took the folder's place. */
  action: 'repaired' | 'rebuilt';
  reason: string;
  /** Unpushed commits kept. */
  salvaged: number;
  /** Unpushed commits that could not be read (the next reconcile commits their difference). */
  lost: number;
}

/** SSH credentials (the Secret's `identity`/`sshPrivateKey`, `password`, `known_hosts`). */
export interface SshCredentials { privateKey: string; passphrase?: string; knownHosts: string }

/** HTTP basic auth (username/password or token), or, for an ssh:// or scp-like URL, `ssh`. */
export interface Credentials { username: string; password: string; ssh?: SshCredentials }

export interface GitWriterOptions {
  /** Persistent folder for the bare local clone. */
  dir: string;
  /** Remote URL, without credentials. */
  url: string;
  branch: string;
  /** Read at every network operation, so rotated credentials are picked up; undefined = anonymous. */
  credentials: () => Credentials | undefined;
  committer: { name: string; email: string };
  /** Whether and how commits are signed, read at each commit (see CommitSigning). */
  signing?: () => CommitSigning;
  /** Push this long after the first unpushed commit; default 1000. */
  pushIntervalMs?: number;
  /** Push as soon as this many commits are unpushed; default 200. */
  pushMaxCommits?: number;
  /** Compact the local object store (keep only the pushed tip) once this many pack bytes were written; default 64 MiB. */
  compactAfterBytes?: number;
  logger: Logger;
}

/**
 * Commit signing as configured now: not asked for (`undefined` from the getter), asked for with a
 * usable key (`signer`), or asked for without one (`problem`) — then nothing is committed (fail
 * closed: a change waits, it is never written unsigned).
 */
export type CommitSigning = { signer: CommitSigner } | { problem: string } | undefined;
