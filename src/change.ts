// What flows from the watch through the queue to the Git writer: one observed change of one
// object, or the desired content of a whole resource type to reconcile the branch against.
import type { Author, Operation } from './correlation/index.ts';
import type { KubeObject, ResourceType } from './kube-object.ts';

export interface Change {
  kind: 'change';
  type: ResourceType;
  operation: Operation;
  namespace: string;
  name: string;
  uid: string;
  resourceVersion: string;
  /** Sanitized object; for a DELETE the last state seen. */
  object: KubeObject;
  /** undefined: no correlation matched; the author is then `unknown`, never guessed. */
  author?: Author;
  observedAt: Date;
  /** The correlation keys this change was looked up under (to wait for one still on its way). */
  correlationKeys?: string[];
}

export interface Reconcile {
  kind: 'reconcile';
  type: ResourceType;
  /** Every object of the type in the cluster (recorded namespaces only), sanitized. */
  objects: KubeObject[];
  /** Namespaces whose files may be deleted when absent from `objects`. */
  recorded: (namespace: string) => boolean;
  reason: string;
  /** The list's resourceVersion: the branch holds the state at this version afterwards. */
  resourceVersion?: string;
}

export type QueueItem = Change | Reconcile;
