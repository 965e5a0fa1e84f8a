// The compiled rules resolved against the cluster's catalogue: which routes record each resource
// type, and where their changes go. Routes that write into the same (destination, folder) form one
// *target*: a change is written there once if any of them records it, and a reconcile of that folder
// keeps the union of what they record — so overlapping rules never delete each other's files.
// Built afresh by each reconcile; `build` also says which types must be listed again: every type of
// a route that is new or whose rule changed (generation), and only the added types of a route whose
// resolved types grew (a "*" rule as CRDs come and go: its other types' snapshots still hold, and
// relisting 100+ types for each new CRD loaded the API server enough to delay Lease renewals).
import { typeKey, type ResourceType } from '../kube-object.ts';
import { typesFor, type Route, type RuleSet } from '../rules/rule-set.ts';

export const destinationKey = (d: { repoKey: string; branch: string }): string => `${d.repoKey}@${d.branch}`;

/** Routes that write into one folder of one destination. */
export interface Target { destination: string; baseFolder: string; routes: Route[] }

export interface RouteTableChange {
  table: RouteTable;
  /** Type keys to list again (a route that records them is new or changed). */
  relist: Set<string>;
  /** The routes whose reconcile that relist is for. */
  relistRoutes: Set<string>;
  /** The routes that are new or whose rule changed: nothing listed for them before counts now. */
  changedRoutes: Set<string>;
}

export class RouteTable {
  static readonly empty = new RouteTable(new Map(), new Map(), new Map(), []);

  private constructor(
    private readonly byType: ReadonlyMap<string, Route[]>,
    private readonly typesByRoute: ReadonlyMap<string, string[]>,
    /** route key → its rule's generation: a different one needs a relist of all its types. */
    private readonly generations: ReadonlyMap<string, number>,
    readonly routes: readonly Route[],
    private readonly resourceTypes: readonly ResourceType[] = [],
  ) {}

  static build(ruleSet: RuleSet, catalogue: readonly ResourceType[], previous: RouteTable = RouteTable.empty): RouteTableChange {
    const byType = new Map<string, Route[]>();
    const typesByRoute = new Map<string, string[]>();
    const generations = new Map<string, number>();
    const all = new Map<string, ResourceType>();
    const relist = new Set<string>();
    const relistRoutes = new Set<string>();
    const changedRoutes = new Set<string>();
    for (const route of ruleSet.routes) {
      const types = typesFor(route.resourceRules, catalogue);
      const keys = types.map(typeKey);
      types.forEach((t, i) => {
        byType.set(keys[i]!, [...(byType.get(keys[i]!) ?? []), route]);
        all.set(keys[i]!, t);
      });
      const generation = route.ref?.generation ?? 0;
      const before = previous.typesByRoute.get(route.key);
      const changed = before === undefined || previous.generations.get(route.key) !== generation;
      if (changed) changedRoutes.add(route.key);
      const added = changed ? keys : keys.filter((k) => !before.includes(k));
      if (added.length > 0) {
        added.forEach((k) => relist.add(k));
        relistRoutes.add(route.key);
      }
      generations.set(route.key, generation);
      typesByRoute.set(route.key, keys);
    }
    return { table: new RouteTable(byType, typesByRoute, generations, ruleSet.routes, [...all.values()]), relist, relistRoutes, changedRoutes };
  }

  /** Every resource type some route records. */
  types(): readonly ResourceType[] {
    return this.resourceTypes;
  }

  routesFor(type: ResourceType): readonly Route[] {
    return this.byType.get(typeKey(type)) ?? [];
  }

  /** The type keys a route records. */
  typesOf(routeKey: string): readonly string[] {
    return this.typesByRoute.get(routeKey) ?? [];
  }

  routesTo(destination: string): Route[] {
    return this.routes.filter((r) => destinationKey(r.destination) === destination);
  }

  /**
   * Where a type is watched: the one namespace every route of it is bound to (WatchRules of one
   * namespace), or undefined: cluster-wide. A writer of one team's destination then decodes only
   * that namespace's events, not every namespace's: with per-destination leases each destination
   * has a watch of its own, and cluster-wide ones made each change decoded once per destination.
   */
  watchNamespace(type: ResourceType): string | undefined {
    if (!type.namespaced) return undefined;
    const namespaces = new Set(this.routesFor(type).map((r) => r.onlyNamespace));
    const [only] = namespaces;
    return namespaces.size === 1 ? only : undefined;
  }

  /** The targets of a type: its routes grouped by (destination, folder), in rule order. */
  targets(type: ResourceType): Target[] {
    const out = new Map<string, Target>();
    for (const route of this.routesFor(type)) {
      const destination = destinationKey(route.destination);
      const key = `${destination}\u0000${route.baseFolder}`;
      const t = out.get(key) ?? { destination, baseFolder: route.baseFolder, routes: [] };
      t.routes.push(route);
      out.set(key, t);
    }
    return [...out.values()];
  }
}
