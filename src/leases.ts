// Lease objects (coordination.k8s.io/v1) through the API client's own lane, so that 100+ watches
// never make a renewal wait: one Lease by name (LeaseStore, for lease-election.ts) and the list of a
// namespace's Leases (for the members of leaderElection.perDestination).
import type { Lease, LeaseSpec, LeaseStore } from './leader/lease-election.ts';
import { KubeApiError, type KubeApi } from './watch/index.ts';

const leasesPath = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;

/** One Lease by name; `annotations` are set when it is created (e.g. the destination it is for). */
export function leaseStore(api: KubeApi, namespace: string, name: string, annotations?: Record<string, string>): LeaseStore {
  const path = leasesPath(namespace);
  return {
    async get(signal: AbortSignal): Promise<Lease | undefined> {
      try {
        return await api.getJson<Lease>(`${path}/${encodeURIComponent(name)}`, { signal, lane: 'lease' });
      } catch (err) {
        if (err instanceof KubeApiError && err.status === 404) return undefined;
        throw err;
      }
    },
    create: (spec: LeaseSpec, signal: AbortSignal) => api.send<Lease>('POST', path, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace, ...(annotations ? { annotations } : {}) }, spec }, { signal, lane: 'lease' }),
    update: (lease: Lease, signal: AbortSignal) => api.send<Lease>('PUT', `${path}/${encodeURIComponent(name)}`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...lease }, { signal, lane: 'lease' }),
  };
}

/** Every Lease of a namespace. */
export async function listLeases(api: KubeApi, namespace: string, signal: AbortSignal): Promise<Lease[]> {
  return (await api.getJson<{ items: Lease[] }>(leasesPath(namespace), { signal, lane: 'lease' })).items;
}
