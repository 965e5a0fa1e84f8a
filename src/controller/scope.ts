// What one controller does when replicas share the writing (leaderElection.perDestination).
/**
 * What a controller does (leaderElection.perDestination, see src/scale-out.ts): everything (the
 * single leader); only the catalogue — the destinations the rules need, and the cluster-wide
 * singletons (webhook rules, the resources' problems) while `singletons()` — with no watch and no
 * writer; or one destination — its routes' watches and writer, and those routes' `.status`.
 */
export type ControllerScope =
  | { kind: 'all' }
  | { kind: 'catalogue'; singletons: () => boolean; destinations: (keys: readonly string[]) => void }
  | { kind: 'destination'; destination: string };
