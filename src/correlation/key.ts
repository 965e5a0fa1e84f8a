// The correlation key, computed identically by the webhook (from an AdmissionReview) and by the
// watch (from a change event): object identity (group, resource, namespace, name, uid) +
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
