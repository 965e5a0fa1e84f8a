// The controller's face (what app.ts and scale-out.ts start and stop) and what it is built from.
import type { Logger } from 'pino';
import type { CorrelationStore } from '../correlation/index.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Secrets, Settings } from '../settings/index.ts';
import type { KubeApi, Prepare } from '../watch/index.ts';
import type { ClusterSources } from './cluster-sources.ts';
import type { Readiness } from './readiness.ts';
import type { ControllerScope } from './scope.ts';

export interface Controller {
  ready(): Readiness;
  stop(): Promise<void>;
  /** Leadership lost: the Git writers stop at once (synchronously: no commit, no push), then the rest stops. */
  fence(): Promise<void>;
  /** Applies the configuration again (e.g. the main Lease was won: the singletons' turn). */
  refresh(): void;
}

export interface ControllerDeps {
  settings: Readonly<Settings>;
  secrets: Secrets;
  logger: Logger;
  api: KubeApi;
  store: CorrelationStore;
  prepare: Prepare;
  metrics: Metrics;
  /**
   * Asks every peer for these correlation keys (batched). A change still without its correlation
   * after the miss wait asks once more before it settles for `unknown`: a push that failed twice
   * (a connection closed under load) is still in the store of the replica that answered.
   */
  askPeers?: (keys: readonly string[]) => Promise<void>;
  /** Default: everything. */
  scope?: ControllerScope;
  /** The process's custom resources, namespaces and discovery, shared by its controllers (started and stopped by the owner); default: the controller's own. */
  sources?: ClusterSources;
}
