// The settings of one kubescribe process, grouped by concern, with their documented defaults.
// The zod schema is the one source: the TypeScript type is derived from it, and docs/configuration.md
// describes the same fields. Validated once at start-up (load-settings.ts), then frozen.
import { isSshUrl } from '../git/ssh-url.ts';
import { z } from 'zod';
import { isAgeRecipient } from '../sanitize/sops-secret.ts';

const duration = z.number().int().positive();

export const SettingsSchema = z.object({
  /**
   * Several clusters into one repository: the cluster's name becomes a top folder (`folder`,
   * default the name; '' for none) above every base folder, a `Kubescribe-Cluster` trailer, and
   * its own checkpoint file. Empty name: a single-cluster layout.
   */
  cluster: z.object({
    name: z.string().max(63).regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/, 'must be a DNS-1123 label (lowercase letters, digits, -)').default(''),
    folder: z.string().max(200).regex(/^([A-Za-z0-9_][A-Za-z0-9._-]*(\/[A-Za-z0-9_][A-Za-z0-9._-]*)*)?$/, 'must be a relative folder path without .. or leading /')
      .refine((f) => !f.includes('..'), 'must not contain ..').optional(),
  }).prefault({}),
  /** Where the kubescribe process keeps its local Git clones and state. */
  dataDir: z.string().min(1).default('/var/lib/kubescribe'),
  /** The namespace kubescribe runs in; never recorded. */
  ownNamespace: z.string().default('kubescribe'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
  kubernetes: z.object({
    /** A kubeconfig file; empty means $KUBECONFIG, then the in-cluster service account, then ~/.kube/config. */
    kubeconfig: z.string().optional(),
    /** Deadline of every API request but a watch stream (a list page, a status write, discovery). */
    requestTimeoutMs: duration.default(30_000),
    /**
     * A watch stream that delivers nothing (no event, no bookmark; bookmarks come about once a
     * minute) this long is taken as half-open and reopened from its last resourceVersion.
     */
    watchIdleTimeoutMs: duration.default(90_000),
  }).prefault({}),
  /**
   * Optional bootstrap: one repository and rule from this file (recorded alongside the custom
   * resources), handy for the local stack and for clusters where CRDs are not wanted.
   */
  git: z.object({
    /** http(s)://…, ssh://user@host[:port]/path or scp-like user@host:path. */
    url: z.string().refine((u) => isSshUrl(u) || /^https?:\/\/[^\s]+$/.test(u), 'must be an http(s) URL, an ssh:// URL or user@host:path'),
    branch: z.string().min(1).default('main'),
    /** Folder inside the repo; empty = the repo's root. */
    baseFolder: z.string().default(''),
    /** Username and password (or token) come from these files or from KUBESCRIBE_GIT_USERNAME / KUBESCRIBE_GIT_PASSWORD. */
    usernameFile: z.string().optional(),
    passwordFile: z.string().optional(),
    /** For an SSH URL: the private key, the known_hosts (required: host keys fail closed), an optional passphrase. */
    ssh: z.object({
      identityFile: z.string().min(1),
      knownHostsFile: z.string().min(1),
      passphraseFile: z.string().optional(),
    }).optional(),
    pushIntervalMs: duration.default(1000),
    pushMaxCommits: z.number().int().min(1).default(200),
    /** `{user}` is replaced by the username with characters unfit for an email replaced by `-`. */
    authorEmailTemplate: z.string().default('{user}@users.kubescribe.dev'),
    /**
     * Sign every commit: the private key (OpenSSH/PEM ed25519 or RSA → SSH signatures; armored
     * OpenPGP → OpenPGP signatures) and an optional passphrase, read at start (restart after a change).
     */
    signing: z.object({ keyFile: z.string().min(1), passphraseFile: z.string().optional() }).optional(),
    /** Opt-in: write Secret values encrypted with SOPS to these age public keys (`age1...`) instead of a keyed hash. */
    secretEncryption: z.object({ ageRecipients: z.array(z.string().refine(isAgeRecipient, 'must be an age public key (age1...)')).min(1) }).optional(),
  }).optional(),
  /** How every Git remote is reached (the bootstrap repository and every GitRepoConfig's). */
  gitTransport: z.object({
    /** An HTTP proxy for Git over HTTP(S) (`http://proxy:3128`, credentials in the URL allowed); empty: direct. */
    proxyUrl: z.string().url().optional(),
    /** Hosts reached directly despite proxyUrl: exact names, `.suffix` for subdomains, or `*`. */
    noProxy: z.array(z.string().min(1)).default([]),
  }).prefault({}),
  /** The committer of every commit. */
  committer: z.object({ name: z.string().default('kubescribe'), email: z.string().default('kubescribe@kubescribe.dev') }).prefault({}),
  leaderElection: z.object({
    /** Several replicas: only the holder of the Lease runs watch and Git; all serve the webhook. */
    enabled: z.boolean().default(true),
    leaseName: z.string().default('kubescribe'),
    /** The Lease's namespace; empty = ownNamespace. */
    namespace: z.string().default(''),
    /** A candidate takes the Lease over when it went unrenewed this long (on the candidate's clock). */
    leaseDurationMs: duration.default(15_000),
    /**
     * A leader that could not renew for this long stops writing at once (client-go's RenewDeadline);
     * shorter than leaseDurationMs, so it has stopped before another replica can take over.
     * Unset: two thirds of leaseDurationMs.
     */
    renewDeadlineMs: duration.optional(),
    /** How often the Lease is renewed or tried (client-go's RetryPeriod). */
    renewIntervalMs: duration.default(2_000),
    /** This replica's name in the Lease; empty = $POD_NAME, else hostname-pid. */
    identity: z.string().default(''),
    /**
     * Replicas share the writing: each (repo, branch) destination has a Lease of its own
     * (`<leaseName>-d-<hash>`), spread over the live replicas by rendezvous hashing; the main Lease
     * keeps the cluster-wide work (webhook rules, the custom resources' problems). Off: one leader
     * writes every destination.
     */
    perDestination: z.boolean().default(false),
  }).prefault({}).superRefine((le, ctx) => {
    const deadline = le.renewDeadlineMs ?? Math.floor((le.leaseDurationMs * 2) / 3);
    if (deadline >= le.leaseDurationMs) ctx.addIssue({ code: 'custom', path: ['renewDeadlineMs'], message: `must be shorter than leaseDurationMs (${le.leaseDurationMs})` });
    if (le.renewIntervalMs >= deadline) ctx.addIssue({ code: 'custom', path: ['renewIntervalMs'], message: `must be shorter than the renew deadline (${deadline} ms)` });
  }),
  peers: z.object({
    /** The shared secret (file, or KUBESCRIBE_PEER_SECRET); without one, correlations are not shared. */
    secretFile: z.string().optional(),
    /** Peer base URLs (https://host:port) for local runs; used when `service` is empty. */
    static: z.array(z.string().url()).default([]),
    /** A headless Service in ownNamespace whose EndpointSlices list the replicas. */
    service: z.string().default(''),
    /** The peers' webhook port (the peer routes are served on the webhook's TLS server). */
    port: z.number().int().min(1).max(65535).default(9443),
    /** CA that signed the peers' serving certificates; required with a peer secret (verified TLS only). */
    caFile: z.string().optional(),
    /** Pull every peer's correlations at this interval, the fallback for lost pushes. */
    pullIntervalMs: duration.default(10_000),
  }).prefault({}),
  customResources: z.object({
    /** Watch GitRepoConfig, WatchRule and ClusterWatchRule and record what they say. */
    enabled: z.boolean().default(true),
    /** How often to re-read API discovery, so that `*` rules pick up resource types added later (CRDs). */
    discoveryIntervalMs: duration.default(30_000),
  }).prefault({}),
  watch: z.object({
    /** `configmaps`, `deployments.apps`, or `group/version/resource` (`apps/v1/deployments`, `v1/configmaps`). */
    resources: z.array(z.string().min(1)).min(1).default(['configmaps', 'secrets', 'services', 'deployments.apps']),
    namespaces: z.object({
      /** Globs; empty = every namespace. */
      include: z.array(z.string()).default([]),
      exclude: z.array(z.string()).default(['kube-*']),
    }).prefault({}),
    /** Relist every resource type at this interval and reconcile the branch with it (0 = only at start). */
    resyncIntervalMs: z.number().int().min(0).default(10 * 60_000),
    /** Initial backoff after a watch error; doubles up to maxBackoffMs. */
    backoffMs: duration.default(500),
    maxBackoffMs: duration.default(30_000),
  }).prefault({}),
  webhook: z.object({
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(9443),
    tlsCertFile: z.string(),
    tlsKeyFile: z.string(),
    /** Bodies larger than this get a 413: an AdmissionReview carries object and oldObject. */
    maxBodyBytes: z.number().int().positive().default(8 * 1024 * 1024),
    /** The ValidatingWebhookConfiguration whose rules kubescribe keeps equal to what is recorded; empty: leave it alone. */
    configurationName: z.string().default('kubescribe'),
    /**
     * On SIGTERM, how long the webhook keeps answering (readiness already failing) before it
     * closes: in a cluster the apiserver and kube-proxy learn that a terminating pod left the
     * Service a moment later, and a review sent to a closed port passes unattributed. The chart
     * sets 5 s; 0 closes at once.
     */
    shutdownDelayMs: z.number().int().min(0).max(60_000).default(0),
    /**
     * Reviews one connection carries before kubescribe closes it (0: no limit). The apiserver keeps
     * a connection to one replica for as long as it can; closing it now and then makes it pick a
     * replica again, so that every replica takes its share. The chart sets 100.
     */
    maxRequestsPerConnection: z.number().int().min(0).default(0),
    /**
     * Answer reviews on a thread of their own (worker_threads), so that they never wait for the
     * watch and Git work on the main event loop. false saves ~20 MiB of RSS (one V8 heap less);
     * admission then shares the main event loop.
     */
    ownThread: z.boolean().default(true),
  }),
  server: z.object({
    /** /metrics, /healthz, /readyz over plain HTTP. */
    host: z.string().default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8080),
  }).prefault({}),
  correlation: z.object({
    ttlMs: duration.default(5 * 60_000),
    maxEntries: z.number().int().positive().default(100_000),
    /**
     * On a miss, how long the leader waits (from when it saw the event) for the correlation to arrive
     * from the replica whose webhook was called. Only misses wait; 0 = never.
     */
    missWaitMs: z.number().int().min(0).default(500),
  }).prefault({}),
  queue: z.object({
    /** Changes waiting for the Git writer; beyond this the watch stops reading (back-pressure). */
    maxPending: z.number().int().positive().default(10_000),
    /**
     * And at most this many bytes of them (the canonical JSON of their sanitized objects; the heap
     * holds about 2–4× that): a burst of large objects waits by weight, not only by count.
     */
    maxPendingBytes: z.number().int().positive().default(32 * 1024 * 1024),
  }).prefault({}),
  memory: z.object({
    /**
     * V8's --optimize-for-size: a smaller heap between full collections, Buffers released sooner,
     * for some more CPU (docs/configuration.md gives the measured cost).
     */
    optimizeForSize: z.boolean().default(true),
  }).prefault({}),
  sanitize: z.object({
    /** Extra dotted paths to drop, e.g. `spec.replicas` or `metadata.annotations["example.com/x"]`. */
    excludeFields: z.array(z.union([z.string(), z.object({ path: z.string(), kinds: z.array(z.string()).optional() })])).default([]),
    /** The HMAC key for Secret values, from this file or KUBESCRIBE_SECRET_HASH_KEY. */
    secretHashKeyFile: z.string().optional(),
  }).prefault({}),
});

export type Settings = z.infer<typeof SettingsSchema>;
export type SettingsInput = z.input<typeof SettingsSchema>;
