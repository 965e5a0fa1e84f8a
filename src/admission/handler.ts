// The admission handler: it only records. For a create, update or delete of a recorded resource
// it sanitizes the object, builds the correlation key exactly as the watch will, and stores the
// author. Dry-run requests and subresources other than scale are ignored. Never blocks: the route
// answers allowed.
import { changeKeyParts, correlationKey, scaleContent, type Author, type CorrelationKeyParts } from '../correlation/index.ts';
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
        ...changeKeyParts({ operation: req.operation, resource: req.resource, metadata: meta, request: req, oldResourceVersion: req.oldObject?.metadata?.resourceVersion ?? '' }),
        contentHash: isScale ? scaleContent(replicas as number) : deps.fingerprint(current),
      };
      const author: Author = { username: req.userInfo.username, uid: req.userInfo.uid, groups: req.userInfo.groups, ...(req.fieldManager ? { fieldManager: req.fieldManager } : {}) };
      deps.sink.record(correlationKey(parts), author);
      deps.onRecord?.(parts, author);
      return 'recorded';
    },
  };
}
