// The correlation key, built by this one module for both the webhook (from an AdmissionReview) and
// the watch (from a change event) — the one contract between them that must never drift: object identity (group, resource, namespace, name, uid) +
// operation + hash of the sanitized content + the resourceVersion the change starts from. With
// the old resourceVersion in the key, an entry can only match the one watch event that leaves
// exactly that version, so equal content written in turn by different users never mixes up.
export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface CorrelationKeyParts {
  operation: Operation;
  group: string;
  resource: string;
  namespace: string;
  name: string;
  /** metadata.uid: set before validating admission, so a re-created object never matches an old entry. */
  uid: string;
  /** '' for CREATE; the resourceVersion of oldObject (webhook) / of the last seen state (watch). */
  oldResourceVersion: string;
  contentHash: string;
}

const SEP = '\u001f';

/** What both sides know of a change: the resource, the object's metadata, and what the change starts from. */
export interface ChangeIdentity {
  operation: Operation;
  resource: { group: string; resource: string };
  /** The object's metadata (for a DELETE: of the object deleted). */
  metadata: { namespace?: string; name?: string; uid?: string } | undefined;
  /** The review's request.namespace / request.name, used where the object lacks them (webhook only). */
  request?: { namespace?: string; name?: string };
  /** '' for CREATE; the resourceVersion of oldObject (webhook) / of the last seen state (watch). */
  oldResourceVersion: string;
  /** The uid when the object shown does not carry it (the watch keeps the one it saw). */
  uid?: string;
}

/**
 * The key parts of a change, minus the content. A Namespace's review names the namespace itself in
 * request.namespace, while the watch sees a cluster-scoped object: its namespace part is always ''.
 */
export function changeKeyParts(c: ChangeIdentity): Omit<CorrelationKeyParts, 'contentHash'> {
  const m = c.metadata ?? {};
  const isNamespace = c.resource.group === '' && c.resource.resource === 'namespaces';
  return {
    operation: c.operation,
    group: c.resource.group,
    resource: c.resource.resource,
    namespace: isNamespace ? '' : m.namespace || c.request?.namespace || '',
    name: m.name || c.request?.name || '',
    uid: c.uid ?? m.uid ?? '',
    oldResourceVersion: c.operation === 'CREATE' ? '' : c.oldResourceVersion,
  };
}

export function correlationKey(p: CorrelationKeyParts): string {
  return [p.operation, p.group, p.resource, p.namespace, p.name, p.uid, p.oldResourceVersion, p.contentHash].join(SEP);
}

/**
 * Every key of an operation that leaves one version of one object, whatever the content: for a
 * request whose result the watch never shows (an update that removed the last finalizer ends in a
 * DELETED event carrying the version before it).
 */
export function correlationKeyPrefix(p: Omit<CorrelationKeyParts, 'contentHash'>): string {
  return [p.operation, p.group, p.resource, p.namespace, p.name, p.uid, p.oldResourceVersion, ''].join(SEP);
}

/** The content part of the key of a scale-subresource request: the replica count it sets. */
export function scaleContent(replicas: number): string {
  return `scale:${replicas}`;
}
