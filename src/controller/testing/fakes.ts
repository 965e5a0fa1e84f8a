// Small fakes for the controller's unit tests: custom resources as a user writes them, a
// Destinations that records what it is given, and a Secret watch the test sets by hand.
import type { Change, QueueItem } from '../../change.ts';
import type { KubeObject, ResourceType } from '../../kube-object.ts';
import type { CustomResource } from '../../rules/rule-set.ts';
import type { SecretWatch, WatchSecret } from '../secret-watches.ts';
import type { RecordTarget } from '../destinations.ts';

export const CONFIGMAPS: ResourceType = { group: '', version: 'v1', resource: 'configmaps' };
export const DEPLOYMENTS: ResourceType = { group: 'apps', version: 'v1', resource: 'deployments', scalable: true };
export const CATALOGUE: ResourceType[] = [CONFIGMAPS, DEPLOYMENTS, { group: '', version: 'v1', resource: 'secrets' }];

export const gitRepoConfig = (ns: string, name: string, spec: Record<string, unknown> = {}): CustomResource =>
  ({ metadata: { namespace: ns, name, generation: 1 }, spec: { url: `https://git.example/${name}.git`, ...spec } });

export const watchRule = (ns: string, name: string, spec: Record<string, unknown> = {}, generation = 1): CustomResource =>
  ({ metadata: { namespace: ns, name, generation }, spec: { gitRepoConfigRef: { name: 'audit' }, rules: [{ apiGroups: [''], resources: ['configmaps'] }], ...spec } });

export const configMap = (ns: string, name: string, labels: Record<string, string> = {}): KubeObject =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: ns, name, labels, uid: `u-${name}`, resourceVersion: '1' }, data: { a: '1' } });

let resourceVersion = 100;
/** A change as the watch reports it; resourceVersions increase from call to call, as the cluster's do. */
export const change = (obj: KubeObject, operation: Change['operation'] = 'UPDATE', username = 'alice', type: ResourceType = CONFIGMAPS): Change => ({
  kind: 'change', type, operation, namespace: obj.metadata?.namespace ?? '', name: obj.metadata?.name ?? '', uid: obj.metadata?.uid ?? '',
  resourceVersion: String(++resourceVersion), object: obj, observedAt: new Date(), author: { username, groups: [] },
});

/** Records every push; checkpoints per destination as the test sets them. */
export class FakeDestinations {
  readonly pushed: Array<{ destination: string; item: QueueItem; target: RecordTarget }> = [];
  readonly checkpointsOf = new Map<string, Map<string, string>>();

  async push(destination: string, item: QueueItem, target: RecordTarget): Promise<void> {
    this.pushed.push({ destination, item, target });
  }

  async checkpoints(destination: string): Promise<{ get(key: string): string | undefined } | undefined> {
    const m = this.checkpointsOf.get(destination);
    return m && { get: (k: string) => m.get(k) };
  }
}

/** Secret watches the test controls: `set` writes the Secret (or removes it) and fires onChange. */
export class FakeSecrets {
  readonly secrets = new Map<string, KubeObject | undefined>();
  readonly watching = new Map<string, { synced: boolean; onChange: () => void }>();
  stopped: string[] = [];

  readonly watch: WatchSecret = (s, onChange) => {
    const key = `${s.namespace}/${s.name}`;
    const state = { synced: false, onChange };
    this.watching.set(key, state);
    const w: SecretWatch = {
      get synced() { return state.synced; },
      current: () => this.secrets.get(key),
      stop: async () => { this.stopped.push(key); this.watching.delete(key); },
    };
    return w;
  };

  set(key: string, data: Record<string, string> | undefined): void {
    this.secrets.set(key, data && { metadata: { namespace: key.split('/')[0], name: key.split('/')[1] }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
    const w = this.watching.get(key);
    if (w) {
      w.synced = true;
      w.onChange();
    }
  }
}

