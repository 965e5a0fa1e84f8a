// The admission handler: it only records. For a create, update or delete of a recorded resource
// it sanitizes the object, builds the correlation key exactly as the watch will, and stores the
// author. Dry-run requests and subresources other than scale are ignored. Never blocks: the route
// answers allowed.
import { correlationKey, scaleContent, type Author, type CorrelationKeyParts } from '../correlation/index.ts';
import type { KubeObject } from '../kube-object.ts';
import type { AdmissionRequest } from './review.ts';

export interface RecordSink {
  record(key: string, author: Author): void;
}

export type Fingerprint = (obj: KubeObject) => string;

export type HandleOutcome = 'recorded' | 'dry-run' | 'ignored';

export interface AdmissionHandler {
  handle(req: AdmissionRequest): HandleOutcome;
}

export function createAdmissionHandler(deps: { sink: RecordSink; fingerprint: Fingerprint; onRecord?: (parts: CorrelationKeyParts, author: Author) => void }): AdmissionHandler {
  return {
    handle(req) {
      if (req.dryRun) return 'dry-run';
      if (req.operation === 'CONNECT') return 'ignored';
      const isScale = req.subResource === 'scale' && req.operation === 'UPDATE';
      if (req.subResource && !isScale) return 'ignored';
      const current = req.operation === 'DELETE' ? req.oldObject : req.object;
      if (!current) return 'ignored';
      const meta = current.metadata ?? {};
      // A scale request carries an autoscaling/v1 Scale, not the object: it shares the object's uid
      // and resourceVersion, and the watch matches it by the new replica count instead of the hash.
      const replicas = isScale ? (current.spec as { replicas?: unknown } | undefined)?.replicas : undefined;
      if (isScale && typeof replicas !== 'number') return 'ignored';
      const parts: CorrelationKeyParts = {
        operation: req.operation,
        group: req.resource.group,
        resource: req.resource.resource,
        // A Namespace's review names the namespace itself in request.namespace; the watch sees a
        // cluster-scoped object (namespace '').
        namespace: isNamespace(req.resource) ? '' : req.namespace || meta.namespace || '',
        name: meta.name || req.name,
        uid: meta.uid ?? '',
        oldResourceVersion: req.operation === 'CREATE' ? '' : (req.oldObject?.metadata?.resourceVersion ?? ''),
        contentHash: isScale ? scaleContent(replicas as number) : deps.fingerprint(current),
      };
      const author: Author = { username: req.userInfo.username, uid: req.userInfo.uid, groups: req.userInfo.groups, ...(req.fieldManager ? { fieldManager: req.fieldManager } : {}) };
      deps.sink.record(correlationKey(parts), author);
      deps.onRecord?.(parts, author);
      return 'recorded';
    },
  };
}

function isNamespace(r: { group: string; resource: string }): boolean {
  return r.group === '' && r.resource === 'namespaces';
}
