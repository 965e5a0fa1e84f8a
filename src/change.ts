// What flows from the watch through the queue to the Git writer: one observed change of one
// object, or the desired content of a whole resource type to reconcile the branch against.
import type { Author, Cause, Operation } from './correlation/index.ts';
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
  /** undefined: no correlation matched, or several people may have made it; the author is then `unknown`, never guessed. */
  author?: Author;
  /** When several distinct requests match and nothing tells them apart: all of them (author undefined). */
  candidates?: Author[];
  /** The field manager of the persisted version (its newest managedFields entry), to tell candidates apart. */
  manager?: string;
  /**
   * For a DELETE of an object held by finalizers or a grace period: `requested` when the deletion
   * was asked for (the object stays, terminating; its file shows the deletionTimestamp), then
   * `completed` when it goes (the file is removed). Absent: an immediate deletion.
   */
  deletion?: 'requested' | 'completed';
  /** For a completed deletion: the change that requested it (its author is this one's author). */
  requestedBy?: Change;
  /** For a completed deletion: who released the last finalizer, when that request is known. */
  releasedBy?: Author;
  /**
   * For a DELETE by the namespace controller or the garbage collector: the user deletion that set
   * it off (correlation/cause.ts). The author stays the controller.
   */
  cause?: Cause;
  /** For a DELETE: the uids in the object's ownerReferences (sanitizing drops them), to find a cause. */
  ownerUids?: string[];
  /** False for a deletion found by a diff, whose resourceVersion is not known: it neither skips nor moves a checkpoint. */
  advancesCheckpoint?: boolean;
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
