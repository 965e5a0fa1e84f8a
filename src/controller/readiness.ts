// Whether the leader's controller is synced: the configuration applied from synced custom
// resources, every watch listed, every destination's clone open, discovery done once. This is
// `synced` on /readyz and the kubescribe_pipeline_synced metric — never the pod's readiness, which
// only says that the webhook serves (a tenant's unreachable repository must not take the webhook
// Service's endpoints away).
export interface ReadinessInput {
  applied: boolean;
  customResourcesSynced: boolean;
  watchesSynced: boolean;
  watches: number;
  writers: Array<{ destination: string; open: boolean }>;
  /** Resource types discovered. */
  catalogue: number;
}

export interface Readiness { ready: boolean; detail: Record<string, unknown> }

export function readiness(i: ReadinessInput): Readiness {
  const ready = i.applied && i.customResourcesSynced && i.watchesSynced && i.writers.every((w) => w.open) && i.catalogue > 0;
  return { ready, detail: { configurationApplied: i.applied, customResourcesSynced: i.customResourcesSynced, watchesSynced: i.watchesSynced, watches: i.watches, writers: i.writers } };
}
