// Every metric kubescribe exports, in one place, registered on a Registry that is passed in
// (never the global one), so tests and several app instances do not collide.
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { favoursSize } from '../optimize-for-size.ts';

export function createMetrics(registry: Registry) {
  const registers = [registry];
  collectDefaultMetrics({ register: registry, prefix: 'kubescribe_process_' });
  return {
    webhookRequests: new Counter({ name: 'kubescribe_webhook_requests_total', help: 'Admission requests by outcome (recorded, dry-run, ignored, malformed, error).', labelNames: ['outcome'], registers }),
    webhookDuration: new Histogram({ name: 'kubescribe_webhook_duration_seconds', help: 'Time to handle an admission request, server side.', buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05], registers }),
    webhookLoopDelayMax: new Gauge({ name: 'kubescribe_webhook_eventloop_lag_max_seconds', help: 'The webhook thread\'s largest event-loop delay since the last scrape: the longest a review could wait before it was read.', registers }),
    webhookLoopDelayP99: new Gauge({ name: 'kubescribe_webhook_eventloop_lag_p99_seconds', help: 'The webhook thread\'s 99th percentile event-loop delay since the last scrape.', registers }),
    correlationsStored: new Counter({ name: 'kubescribe_correlations_stored_total', help: 'Correlations recorded by the webhook.', registers }),
    heapFavoursSize: new Gauge({ name: 'kubescribe_heap_favours_size', help: '1 while V8 runs with --optimize-for-size (memory.optimizeForSize, except while a controller starts, a large snapshot is written or a backlog waits), else 0.', registers, collect() { this.set(favoursSize() ? 1 : 0); } }),
    memoryRelease: new Histogram({ name: 'kubescribe_memory_release_seconds', help: 'Memory-reducing full GCs after a large snapshot: how long each held the event loop.', buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers }),
    correlationStoreSize: new Gauge({ name: 'kubescribe_correlation_store_entries', help: 'Keys in the correlation store.', registers }),
    correlationEvictions: new Counter({ name: 'kubescribe_correlation_evictions_total', help: 'Correlations dropped before a watch event matched them, by reason (expire, evict).', labelNames: ['reason'], registers }),
    watchEvents: new Counter({ name: 'kubescribe_watch_events_total', help: 'Watch events by resource and type.', labelNames: ['resource', 'type'], registers }),
    watchErrors: new Counter({ name: 'kubescribe_watch_errors_total', help: 'List/watch failures (each followed by a retry with backoff).', labelNames: ['resource'], registers }),
    enrichment: new Counter({ name: 'kubescribe_enrichment_total', help: 'Author lookups for changes by result (hit, miss).', labelNames: ['result'], registers }),
    queueDepth: new Gauge({ name: 'kubescribe_queue_depth', help: 'Changes waiting for the Git writer.', labelNames: ['repo', 'branch'], registers }),
    queueBytes: new Gauge({ name: 'kubescribe_queue_bytes', help: 'Bytes (canonical JSON of the sanitized objects) of the changes waiting for the Git writer; bounded by queue.maxPendingBytes.', labelNames: ['repo', 'branch'], registers }),
    commits: new Counter({ name: 'kubescribe_commits_total', help: 'Commits written, by repo, branch and kind (change, reconcile).', labelNames: ['repo', 'branch', 'kind'], registers }),
    pushDuration: new Histogram({ name: 'kubescribe_push_duration_seconds', help: 'Duration of pushes.', labelNames: ['repo', 'branch'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers }),
    pushedBytes: new Counter({ name: 'kubescribe_pushed_bytes_total', help: 'Pack bytes the remote accepted (pushes\' bodies, deflated): divided by kubescribe_commits_total, what a commit costs on the wire.', labelNames: ['repo', 'branch'], registers }),
    pushFailures: new Counter({ name: 'kubescribe_push_failures_total', help: 'Failed pushes by reason (error code).', labelNames: ['repo', 'branch', 'reason'], registers }),
    lastPushTime: new Gauge({ name: 'kubescribe_last_successful_push_timestamp_seconds', help: 'Unix time of the last successful push.', labelNames: ['repo', 'branch'], registers }),
    pendingCommits: new Gauge({ name: 'kubescribe_pending_commits', help: 'Commits written locally but not pushed yet.', labelNames: ['repo', 'branch'], registers }),
    resyncs: new Counter({ name: 'kubescribe_resyncs_total', help: 'Reconciles of the cluster against the branch tip, by resource.', labelNames: ['resource'], registers }),
    watchedObjects: new Gauge({ name: 'kubescribe_watched_objects', help: 'Objects whose state the watch keeps.', labelNames: ['resource'], registers }),
    peerPushes: new Counter({ name: 'kubescribe_peer_pushes_total', help: 'Correlation batches pushed to peers, by result (ok, failed).', labelNames: ['result'], registers }),
    peerLookups: new Counter({ name: 'kubescribe_peer_lookups_total', help: 'The leader\'s lookups of missing correlation keys at a peer, by result (found, not-found, failed).', labelNames: ['result'], registers }),
    peerPulls: new Counter({ name: 'kubescribe_peer_pulls_total', help: 'Pulls of a peer\'s correlations by result (changed, not-modified, failed).', labelNames: ['result'], registers }),
    peerReceived: new Counter({ name: 'kubescribe_peer_correlations_received_total', help: 'Correlations received from peers.', registers }),
    failovers: new Counter({ name: 'kubescribe_leader_acquisitions_total', help: 'Times this replica became the leader.', registers }),
    leader: new Gauge({ name: 'kubescribe_leader', help: '1 while this replica leads (runs watch and Git).', registers }),
    destinationsHeld: new Gauge({ name: 'kubescribe_destinations_held', help: 'Destinations (repo, branch) whose Lease this replica holds and writes (leaderElection.perDestination only).', registers }),
    pipelineSynced: new Gauge({ name: 'kubescribe_pipeline_synced', help: '1 when the pipeline is synced (the leader: configuration applied, every watch listed, every repository opened; a standby: always). Readiness does not depend on it.', registers }),
    leaseRenewGap: new Histogram({ name: 'kubescribe_lease_renew_gap_seconds', help: 'Time between two successful renewals of the Lease by the leader (the retry period when healthy).', buckets: [0.5, 1, 2, 3, 5, 8, 10, 15, 30], registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
