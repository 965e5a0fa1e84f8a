// The watch manager's sink: each change goes to the targets (destination, folder) of the routes
// that record it, once per target; each snapshot becomes one reconcile per target, keeping the union
// of what its routes hold. Also answers the watch manager's two questions: whether a change is
// recordable at all (so unrecorded ones are not looked up), and which checkpoint a type's watch may
// replay from.
import type { Change } from '../change.ts';
import { compareRv, Checkpoints } from '../git/checkpoints.ts';
import { typeKey, type KubeObject, type ResourceType } from '../kube-object.ts';
import { recordsChange, selectsObject, type Route } from '../rules/rule-set.ts';
import type { WatchSink } from '../watch/index.ts';
import type { Destinations, RecordTarget } from './destinations.ts';
import type { RouteTable } from './route-table.ts';

export type NamespaceLabels = (ns: string) => Readonly<Record<string, string>> | undefined;

export interface RouterDeps {
  table: () => RouteTable;
  destinations: {
    push: Destinations['push'];
    checkpoints(destination: string, waitMs: number): Promise<Pick<Checkpoints, 'get'> | undefined>;
  };
  nsLabels: NamespaceLabels;
  /** This cluster's top folder in the repository ('' or undefined: none). */
  clusterFolder?: string;
  onSnapshot?: (type: ResourceType, objects: number) => void;
  /** After a snapshot reached its targets: the routes it was taken for (a route is recorded with authors from then on). */
  onListed?: (type: ResourceType, routeKeys: readonly string[]) => void;
  /** How long `startFrom` waits for a destination to open before listing instead. */
  openWaitMs?: number;
}

export class Router implements WatchSink {
  constructor(private readonly d: RouterDeps) {}

  /** The folder a route's base folder is written to (under this cluster's folder, if any). */
  folder(baseFolder: string): string {
    return [this.d.clusterFolder, baseFolder].filter(Boolean).join('/');
  }

  /** Whether some route records this change, its author aside. */
  recordable(type: ResourceType, change: Change): boolean {
    return this.d.table().routesFor(type).some((r) => recordsChange(r, change, this.d.nsLabels));
  }

  async changes(type: ResourceType, changes: Change[]): Promise<void> {
    const targets = this.d.table().targets(type);
    for (const change of changes) {
      for (const t of targets) {
        const route = t.routes.find((r) => recordsChange(r, change, this.d.nsLabels) && !r.excluded(change.author));
        if (route) await this.d.destinations.push(t.destination, change, this.target(route));
      }
    }
  }

  async snapshot(type: ResourceType, objects: KubeObject[], reason: string, resourceVersion: string, only?: ReadonlySet<string>): Promise<void> {
    this.d.onSnapshot?.(type, objects.length);
    const listedFor: string[] = [];
    for (const t of this.d.table().targets(type)) {
      if (only && !t.routes.some((r) => only.has(r.key))) continue;
      const selected = objects.filter((o) => t.routes.some((r) => selectsObject(r, o, this.d.nsLabels)));
      const recorded = (ns: string): boolean => t.routes.some((r) => r.namespace(ns, this.d.nsLabels(ns)));
      await this.d.destinations.push(t.destination, { kind: 'reconcile', type, objects: selected, recorded, reason, resourceVersion }, this.target(t.routes[0]!));
      listedFor.push(...t.routes.map((r) => r.key));
    }
    this.d.onListed?.(type, listedFor);
  }

  /**
   * Replay from the oldest checkpoint among the folders that record the type; a branch that is
   * further on skips what it has. No checkpoint anywhere (or a branch not open in time): list now.
   */
  async startFrom(type: ResourceType): Promise<string | undefined> {
    const targets = this.d.table().targets(type);
    if (targets.length === 0) return undefined;
    const cps = await Promise.all(targets.map(async (t) => (await this.d.destinations.checkpoints(t.destination, this.d.openWaitMs ?? 10_000))?.get(Checkpoints.key(this.folder(t.baseFolder), typeKey(type)))));
    if (cps.some((c) => c === undefined)) return undefined;
    return (cps as string[]).reduce((min, c) => ((compareRv(c, min) ?? 0) < 0 ? c : min));
  }

  private target(route: Route): RecordTarget {
    return { baseFolder: this.folder(route.baseFolder), ageRecipients: route.ageRecipients };
  }
}
