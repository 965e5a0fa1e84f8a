// Scale out past one leader (leaderElection.perDestination): the replicas share the writing, one
// Lease per (repo, branch) destination. Wired here, beside app.ts, because it knows the leader
// election, the controller and the API client:
//   main Lease (leaderElection.leaseName)  → the catalogue controller's cluster-wide singletons
//   member Lease (<leaseName>-m-<hash>)    → "this replica is alive" (leader/members.ts)
//   destination Leases (<leaseName>-d-<hash>) → a controller scoped to that destination
//     (leader/shards.ts: rendezvous hashing over the live members, handover, fencing per Lease)
// Every replica runs the catalogue controller (custom resources → the destinations) and serves the
// webhook; its controllers share one copy of the custom resources, namespaces and discovery
// (cluster-sources.ts). A destination's controller replays from the branch's checkpoints when it
// takes over, with the correlations every replica received by peer push (and askPeers on a miss).
import type { Logger } from 'pino';
import { ClusterSources } from './controller/cluster-sources.ts';
import { startController, type Controller, type ControllerDeps } from './controller/controller.ts';
import type { Readiness } from './controller/readiness.ts';
import { LeaseElection } from './leader/lease-election.ts';
import { Members } from './leader/members.ts';
import { assign, destinationLeaseName, memberLeaseName } from './leader/rendezvous.ts';
import { Shards } from './leader/shards.ts';
import { leaseStore, listLeases } from './leases.ts';

export interface ScaleOutDeps {
  controller: Omit<ControllerDeps, 'scope' | 'sources'>;
  identity: string;
  logger: Logger;
  /** Before a destination's controller starts: pull every peer's correlations. */
  beforeWriting: () => Promise<void>;
}

export interface ScaleOut {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Whether this replica holds the main Lease. */
  leading(): boolean;
  /** The destinations this replica writes now. */
  held(): string[];
  ready(): Readiness;
}

export function buildScaleOut(d: ScaleOutDeps): ScaleOut {
  const { settings, api, metrics } = d.controller;
  const le = settings.leaderElection;
  const namespace = le.namespace || settings.ownNamespace;
  const log = d.logger.child({ component: 'scale-out' });
  const timing = { leaseDurationMs: le.leaseDurationMs, renewIntervalMs: le.renewIntervalMs, renewDeadlineMs: le.renewDeadlineMs };
  let catalogue: Controller | undefined;
  let mainLeading = false;
  // One copy of the custom resources, namespaces and catalogue for all of this replica's controllers.
  const sources = new ClusterSources({
    api, logger: d.logger.child({ component: 'controller' }), customResources: settings.customResources.enabled,
    discoveryIntervalMs: settings.customResources.discoveryIntervalMs, backoffMs: settings.watch.backoffMs, maxBackoffMs: settings.watch.maxBackoffMs,
  });
  const controller: ControllerDeps = { ...d.controller, sources };
  const election = (name: string, annotations: Record<string, string>, on: { onStartedLeading: () => void; onStoppedLeading: (reason: string) => void }) =>
    new LeaseElection({ store: leaseStore(api, namespace, name, annotations), identity: d.identity, ...timing, logger: log, ...on });

  const main = election(le.leaseName, { 'kubescribe.dev/lease': 'main' }, {
    onStartedLeading: () => { mainLeading = true; metrics.leader.set(1); catalogue?.refresh(); },
    onStoppedLeading: () => { mainLeading = false; metrics.leader.set(0); },
  });
  const member = election(memberLeaseName(le.leaseName, d.identity), { 'kubescribe.dev/lease': 'member', 'kubescribe.dev/identity': d.identity }, { onStartedLeading: () => undefined, onStoppedLeading: () => undefined });
  const members = new Members({ identity: d.identity, prefix: `${le.leaseName.slice(0, 48)}-m-`, leaseDurationMs: le.leaseDurationMs, list: (signal) => listLeases(api, namespace, signal) });
  const shards: Shards<Controller> = new Shards<Controller>({
    identity: d.identity, logger: log,
    members: () => members.live(),
    assign,
    election: (dest, on) => election(destinationLeaseName(le.leaseName, dest), { 'kubescribe.dev/lease': 'destination', 'kubescribe.dev/destination': dest }, on),
    start: async (dest) => {
      metrics.failovers.inc();
      await d.beforeWriting();
      return startController({ ...controller, scope: { kind: 'destination', destination: dest } });
    },
    changed: () => metrics.destinationsHeld.set(shards.held().size),
  });
  let destinations: readonly string[] | undefined;

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const tick = async (): Promise<void> => {
    const ac = new AbortController();
    // As long as a renewal may take: a slow list keeps the last view (members.ts), never a wrong one.
    const cut = setTimeout(() => ac.abort(), le.renewDeadlineMs ?? Math.floor((le.leaseDurationMs * 2) / 3));
    try {
      await members.refresh(ac.signal);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not list the member Leases');
    } finally {
      clearTimeout(cut);
    }
    // Spread only once the other members are known, so a replica starting beside others does not take everything first.
    if (members.known && destinations) shards.setDestinations(destinations);
  };
  const loop = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void tick().finally(loop), le.renewIntervalMs);
  };

  return {
    async start() {
      member.start();
      main.start();
      await sources.start();
      catalogue = await startController({
        ...controller,
        scope: { kind: 'catalogue', singletons: () => mainLeading, destinations: (keys) => { destinations = keys; if (members.known) shards.setDestinations(keys); } },
      });
      void tick().finally(loop);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await shards.stop(); // each destination: stop (last push) while its Lease is held, then release
      metrics.destinationsHeld.set(0);
      await catalogue?.stop();
      await sources.stop();
      await main.stop();
      await member.stop();
    },
    leading: () => mainLeading,
    held: () => [...shards.held().keys()].sort(),
    ready() {
      const parts = [catalogue?.ready() ?? { ready: false, detail: {} }, ...[...shards.held().values()].map((c) => c.ready())];
      return { ready: parts.every((p) => p.ready), detail: { destinations: [...shards.held().keys()].sort(), writers: parts.flatMap((p) => (p.detail.writers as unknown[] | undefined) ?? []) } };
    },
  };
}
