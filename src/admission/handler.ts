// The admission handler: it only records. For a create, update or delete of a recorded resource
// it sanitizes the object, builds the correlation key exactly as the watch will, and stores the
// author. Dry-run requests and subresources other than scale are ignored. Never blocks: the route
// answers allowed. A deletion by a user is also remembered as the cause of what controllers delete
// after it (correlation/cause.ts): a Namespace's by its name, any other object's by its uid.
import { authorInterner, causeEntry, changeKeyParts, correlationKey, describeDeleted, isCascadingController, namespaceCauseKey, objectCauseKey, scaleContent, type Author, type CorrelationKeyParts } from '../correlation/index.ts';
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

/** `onRecord`: every entry stored (correlations and causes), e.g. to push it to peers. */
export function createAdmissionHandler(deps: { sink: RecordSink; fingerprint: Fingerprint; onRecord?: (key: string, author: Author) => void }): AdmissionHandler {
  const intern = authorInterner();
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
      const { username, uid, groups } = req.userInfo;
      const author = intern(username, uid, groups, req.fieldManager);
      const key = correlationKey(parts);
      deps.sink.record(key, author);
      deps.onRecord?.(key, author);
      // A controller's own deletions get their cause from the leader's watch (cause.ts), never here.
      if (req.operation === 'DELETE' && !isCascadingController(author.username)) {
        const isNamespace = parts.group === '' && parts.resource === 'namespaces';
        const causeKey = isNamespace ? namespaceCauseKey(parts.name) : parts.uid ? objectCauseKey(parts.uid) : undefined;
        if (causeKey) {
          const cause = causeEntry(author, describeDeleted(parts.resource, parts.namespace, parts.name));
          deps.sink.record(causeKey, cause);
          deps.onRecord?.(causeKey, cause);
        }
      }
      return 'recorded';
    },
  };
}
