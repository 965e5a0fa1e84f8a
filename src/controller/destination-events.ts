// What the controller does when a Git destination reports: metrics, the GitRepoConfig's `.status`
// (opened, pushed, failed, store repaired), the rules' `.status` for a checkpoint that cannot be
// trusted, and a relist when a destination that overflowed while down is back.
import type { Logger } from 'pino';
import { redactUrl } from '../git/index.ts';
import { untrusted } from '../git/checkpoints.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ObjectRef } from '../rules/rule-set.ts';
import { notReady, ready } from '../status/status-writer.ts';
import type { DestinationEvents, Destinations } from './destinations.ts';
import type { RouteTable } from './route-table.ts';
import type { ReportStatus } from './route-status.ts';

export interface DestinationEventsDeps {
  metrics: Metrics;
  report: ReportStatus;
  logger: Logger;
  repoRef: (repoKey: string) => ObjectRef | undefined;
  /** A credentials problem already shown in the repository's status (not overwritten by open failures). */
  credentialsProblem: (repoKey: string) => unknown;
  destinations: () => Pick<Destinations, 'pending' | 'writer'>;
  table: () => RouteTable;
  folder: (baseFolder: string) => string;
  /** This cluster's identity and current resourceVersion (for checking checkpoints). */
  clusterNow: () => Promise<{ uid?: string; resourceVersion?: string }>;
  relist: (typeKeys: ReadonlySet<string>, reason: string, routeKeys: readonly string[]) => void;
  /** After every successful push, with the commits still pending there. */
  pushedAll?: (pending: number) => void;
  /** Each change of a destination's queue depth (changes waiting for its writer). */
  queueDepth?: (destinationKey: string, depth: number) => void;
}

export function destinationEvents(deps: DestinationEventsDeps): DestinationEvents {
  const { metrics, report, repoRef } = deps;
  const labels = (d: { url: string; branch: string }) => ({ repo: redactUrl(d.url), branch: d.branch });
  return {
    opened: (d) => {
      const ref = repoRef(d.repoKey);
      if (ref) report(ref, ready('Opened', `cloned ${redactUrl(d.url)} (${d.branch})`), { lastCommitSHA: deps.destinations().writer(d.key)?.tip() ?? '' });
    },
    openFailed: (d, err) => {
      const ref = repoRef(d.repoKey);
      if (ref && !deps.credentialsProblem(d.repoKey)) report(ref, notReady(gitReason(err), (err as Error).message, false));
    },
    pushed: (d, r) => {
      const pending = deps.destinations().pending(d.key);
      metrics.pushDuration.observe(labels(d), r.durationMs / 1000);
      if (r.pushedBytes) metrics.pushedBytes.inc(labels(d), r.pushedBytes);
      metrics.pendingCommits.set(labels(d), pending);
      if (r.ok) metrics.lastPushTime.set(labels(d), r.at.getTime() / 1000);
      else metrics.pushFailures.inc({ ...labels(d), reason: r.error?.code ?? 'unknown' });
      if (r.ok) deps.pushedAll?.(pending);
      const ref = repoRef(d.repoKey);
      if (!ref) return;
      const repair = r.storeRepair ? { lastStoreRepair: { time: r.storeRepair.at.toISOString(), action: r.storeRepair.action, salvagedCommits: r.storeRepair.salvaged, lostCommits: r.storeRepair.lost, message: r.storeRepair.reason } } : {};
      if (r.ok) report(ref, ready('Pushed', `pushed ${r.pushedCommits} commit(s) to ${d.branch}`), { lastCommitSHA: r.sha ?? '', lastPushTime: r.at.toISOString(), pendingCommits: pending, ...repair });
      else report(ref, notReady(gitReason(r.error), r.error?.message ?? 'push failed', false), { pendingCommits: pending, ...repair });
    },
    committed: (d, kind) => {
      metrics.commits.inc({ ...labels(d), kind });
      metrics.pendingCommits.set(labels(d), deps.destinations().pending(d.key));
    },
    depth: (d, depth, bytes) => {
      metrics.queueDepth.set(labels(d), depth);
      metrics.queueBytes.set(labels(d), bytes);
      deps.queueDepth?.(d.key, depth);
    },
    // A removed destination's gauges go with it: a queue that never drained or commits that were
    // never pushed would otherwise hold an alert (KubescribeLastPushTooOld) up after the removal.
    closed: (d) => {
      for (const gauge of [metrics.queueDepth, metrics.queueBytes, metrics.pendingCommits, metrics.lastPushTime]) gauge.remove(labels(d));
      deps.queueDepth?.(d.key, 0);
    },
    // A checkpoint written by another cluster, or ahead of this one, is never replayed from nor
    // trusted to skip changes: logged, shown in .status, dropped — the next list of its type (at
    // start, or the reconcile of a destination added at runtime) records the difference.
    checkpointsLoaded: async (d, checkpoints) => {
      const cluster = await deps.clusterNow(); // also this cluster's identity, for the file it writes
      for (const [key, rv] of checkpoints.entries()) {
        const problem = untrusted(checkpoints, rv, cluster);
        if (!problem) continue;
        checkpoints.reject(key);
        const [folder = '', type = ''] = key.split('|');
        deps.logger.warn({ destination: d.key, checkpoint: key, resourceVersion: rv, reason: problem.reason }, `${problem.message}; listing now (a reconcile records the difference)`);
        const detail = { checkpoint: { reason: problem.reason, message: `${type}: ${problem.message}; answered by a reconcile`, resource: type, time: new Date().toISOString() } };
        for (const r of deps.table().routesTo(d.key)) if (deps.folder(r.baseFolder) === folder && r.ref) report(r.ref, [], detail);
        const ref = repoRef(d.repoKey);
        if (ref) report(ref, [], detail);
      }
    },
    needsResync: (d) => {
      const routes = deps.table().routesTo(d.key);
      deps.relist(new Set(routes.flatMap((r) => deps.table().typesOf(r.key))), 'resync after the destination was unavailable', routes.map((r) => r.key));
    },
  };
}

/** The `.status` reason of a Git error. */
export function gitReason(err: unknown): string {
  switch ((err as { code?: string } | undefined)?.code) {
    case 'KUBESCRIBE_ERR_GIT_AUTH': return 'AccessDenied';
    case 'KUBESCRIBE_ERR_GIT_UNREACHABLE': return 'RepoUnreachable';
    case 'KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN': return 'HostKeyUnknown';
    case 'KUBESCRIBE_ERR_GIT_HOST_KEY_MISMATCH': return 'HostKeyMismatch';
    case 'KUBESCRIBE_ERR_GIT_PUSH_REJECTED': return 'PushRejected';
    case 'KUBESCRIBE_ERR_GIT_STORE_CORRUPT': return 'StoreDamaged';
    default: return 'GitError';
  }
}

