// The fields kubescribe always strips or redacts, written in the same path syntax users write
// in settings and compiled by the same code. Volatile fields are those the cluster sets or churns
// (status, server bookkeeping, allocated addresses): recording them would turn every status update
// into a commit and make webhook and watch disagree on the content hash.
// `deletionTimestamp` and `deletionGracePeriodSeconds` are kept: set once when someone asks for a
// deletion that finalizers or a grace period hold, they show in Git that the object is terminating
// (and make the request a commit of its own, authored by the requester).

import type { FieldEffect } from './rule-tree.ts';

export interface BuiltinRule {
  readonly path: string;
  readonly effect: FieldEffect;
  /** Kind selectors (`v1/Service`); absent means every kind. */
  readonly kinds?: readonly string[];
}

const serverSetMetadata = [
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'selfLink',
  'managedFields',
  'ownerReferences',
];

// `kubectl.kubernetes.io/restartedAt` is deliberately kept: it records a user's rollout restart.
const noisyAnnotations = [
  // A full copy of the object (for a Secret: its values in plaintext).
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'control-plane.alpha.kubernetes.io/leader',
  // Written by kubescribe into SOPS files (sops-secret.ts); a Secret restored from one carries it.
  'kubescribe.dev/content-hash',
];

export const BUILTIN_RULES: readonly BuiltinRule[] = [
  { path: 'status', effect: 'remove' },
  ...serverSetMetadata.map((f): BuiltinRule => ({ path: `metadata.${f}`, effect: 'remove' })),
  ...noisyAnnotations.map((a): BuiltinRule => ({ path: `metadata.annotations[${JSON.stringify(a)}]`, effect: 'remove' })),
  { path: 'metadata.annotations', effect: 'drop-if-empty' },
  { path: 'metadata.labels', effect: 'drop-if-empty' },
  { path: 'spec.clusterIP', effect: 'remove', kinds: ['v1/Service'] },
  { path: 'spec.clusterIPs', effect: 'remove', kinds: ['v1/Service'] },
  { path: 'spec.nodeName', effect: 'remove', kinds: ['v1/Pod'] },
  { path: 'spec.volumeName', effect: 'remove', kinds: ['v1/PersistentVolumeClaim'] },
  // Any annotation of a Secret may embed a copy of its values (a tool's own last-applied copy, a
  // templated config): their values are redacted too; the keys stay readable.
  { path: 'metadata.annotations', effect: 'redact-utf8', kinds: ['v1/Secret'] },
  { path: 'data', effect: 'redact-base64', kinds: ['v1/Secret'] },
  { path: 'stringData', effect: 'redact-utf8', kinds: ['v1/Secret'] },
];
