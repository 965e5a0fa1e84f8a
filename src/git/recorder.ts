// The front of a Git writer: takes queue items in order and turns each into one commit. A change
// becomes one commit authored by its user (or `unknown`); a reconcile compares the cluster's objects
// with the branch tip by blob id (no blob is read) and commits the difference, authored by kubescribe.
import type { Logger } from 'pino';
import type { Change, QueueItem, Reconcile } from '../change.ts';
import type { KubeObject } from '../kube-object.ts';
import { canEncrypt, sameEncryptedContent, sopsSecretFileWithState, type SopsFileState } from '../sanitize/index.ts';
import { authorEmail, changeMessage, reconcileMessage } from './commit-message.ts';
import { blobOid } from './blob-oid.ts';
import { Checkpoints, compareRv } from './checkpoints.ts';
import { objectPath } from './paths.ts';
import type { FileLookup } from './tree-index.ts';
import type { FileChange } from './types.ts';

export interface CommitTarget {
  commit(input: { changes: FileChange[]; author: { name: string; email: string; timestamp?: number }; message: string }): Promise<string>;
  files(): FileLookup;
  readFile(path: string): Promise<string | undefined>;
}

export interface RecorderOptions {
  writer: CommitTarget;
  baseFolder: string;
  authorEmailTemplate: string;
  toYaml: (obj: KubeObject) => string;
  logger: Logger;
  onCommit?: (kind: 'change' | 'reconcile', item: QueueItem) => void;
  /** How far each type of this branch is recorded (shared by the recorders of one writer). */
  checkpoints?: Checkpoints;
  /** age public keys: Secrets are written as SOPS files encrypted to them; empty or absent: redacted. */
  ageRecipients?: readonly string[];
  /** The cluster name, written as the `Kubescribe-Cluster` trailer (several clusters, one repository). */
  cluster?: string;
}

export const UNKNOWN_USER = 'unknown';
export const KUBESCRIBE_USER = 'kubescribe';

/** SOPS files whose data key is kept in memory (a Secret's next version reuses unchanged ciphertexts). */
const MAX_SOPS_STATES = 10_000;

export class Recorder {
  private readonly sopsStates = new Map<string, SopsFileState>();

  constructor(private readonly o: RecorderOptions) {}

  async record(item: QueueItem): Promise<void> {
    if (item.kind === 'change') await this.recordChange(item);
    else await this.reconcile(item);
  }

  private pathOf(t: { group: string; resource: string }, namespace: string, name: string): string {
    return objectPath({ baseFolder: this.o.baseFolder, namespace: namespace || undefined, group: t.group, resource: t.resource, name });
  }

  private checkpointKey(t: { group: string; resource: string }): string {
    return Checkpoints.key(this.o.baseFolder, `${t.group || 'core'}/${t.resource}`);
  }

  /** The checkpoint file moved forward, to go into the commit; applied once the commit is written. */
  private checkpointChange(key: string, rv: string | undefined): { change: FileChange[]; apply: () => void } {
    const cps = this.o.checkpoints;
    if (!cps || !rv) return { change: [], apply: () => undefined };
    const next = cps.advanced(key, rv);
    return { change: [cps.file(next)], apply: () => cps.set(next) };
  }

  /**
   * The file content of `obj`, or undefined when the branch already records exactly this: the
   * same blob, or — for a Secret encrypted with SOPS, whose ciphertext differs at every write —
   * the same content hash and recipients (sops-secret.ts).
   */
  private async contentUnlessRecorded(path: string, obj: KubeObject): Promise<string | undefined> {
    const recipients = this.o.ageRecipients ?? [];
    if (recipients.length > 0 && canEncrypt(obj)) {
      const have = this.o.writer.files().has(path) ? await this.o.writer.readFile(path) : undefined;
      if (have !== undefined && sameEncryptedContent(have, obj, recipients)) return undefined;
      const { text, state } = await sopsSecretFileWithState(obj, recipients, this.sopsStates.get(path));
      this.sopsStates.delete(path);
      if (this.sopsStates.size >= MAX_SOPS_STATES) this.sopsStates.delete(this.sopsStates.keys().next().value as string);
      this.sopsStates.set(path, state);
      return text;
    }
    const content = this.o.toYaml(obj);
    return this.o.writer.files().get(path) === blobOid(content) ? undefined : content;
  }

  private async recordChange(c: Change): Promise<void> {
    const key = this.checkpointKey(c.type);
    const advances = c.advancesCheckpoint !== false;
    if (advances && this.o.checkpoints?.covers(key, c.resourceVersion)) return; // replayed, already in the branch
    const path = this.pathOf(c.type, c.namespace, c.name);
    const user = c.author?.username ?? UNKNOWN_USER;
    const cp = this.checkpointChange(key, advances ? c.resourceVersion : undefined);
    // A requested deletion keeps the file (the object is still there, terminating).
    const content = c.operation === 'DELETE' && c.deletion !== 'requested' ? null : await this.contentUnlessRecorded(path, c.object);
    if (content === undefined || (content === null && !this.o.writer.files().has(path))) {
      cp.apply(); // already recorded (e.g. after a restart); remembered with the next commit
      return;
    }
    const releasedBy = c.releasedBy && c.releasedBy.username !== user ? c.releasedBy.username : undefined;
    const sha = await this.o.writer.commit({
      changes: [{ path, content }, ...cp.change],
      author: { name: user, email: authorEmail(this.o.authorEmailTemplate, user), timestamp: Math.floor(c.observedAt.getTime() / 1000) },
      message: changeMessage({
        operation: c.operation, group: c.type.group, version: c.type.version, resource: c.type.resource,
        namespace: c.namespace, name: c.name, user, groups: c.author?.groups ?? [], resourceVersion: c.resourceVersion, cluster: this.o.cluster,
        deletion: c.deletion, releasedBy, candidates: c.candidates?.map((a) => a.username), cause: c.cause,
      }),
    });
    cp.apply();
    this.o.logger.info({ sha, operation: c.operation, resource: c.type.resource, namespace: c.namespace, name: c.name, user, ...(c.deletion ? { deletion: c.deletion } : {}) }, 'committed change');
    this.o.onCommit?.('change', c);
  }

  private async reconcile(r: Reconcile): Promise<void> {
    const key = this.checkpointKey(r.type);
    const cp = this.o.checkpoints?.get(key);
    // A list older than what the branch already holds (a replay from another destination's
    // checkpoint) must not take the branch back: the replayed changes bring it forward.
    if (cp !== undefined && r.resourceVersion !== undefined && (compareRv(r.resourceVersion, cp) ?? 0) < 0) return;
    const files = this.o.writer.files();
    const groupDir = r.type.group === '' ? 'core' : r.type.group;
    const base = this.o.baseFolder === '' ? '' : `${this.o.baseFolder.replace(/\/$/, '')}/`;
    const changes: FileChange[] = [];
    const created: string[] = [];
    const updated: string[] = [];
    const deleted: string[] = [];
    const wanted = new Set<string>();
    for (const obj of r.objects) {
      const ns = obj.metadata?.namespace ?? '';
      const name = obj.metadata?.name ?? '';
      let path: string;
      try {
        path = this.pathOf(r.type, ns, name);
      } catch (err) {
        // One object that cannot be placed must not keep the others out of the branch.
        this.o.logger.error({ code: (err as { code?: string }).code, err: (err as Error).message, resource: r.type.resource, namespace: ns, name }, 'object skipped in the reconcile');
        continue;
      }
      wanted.add(path);
      const had = files.has(path);
      const content = await this.contentUnlessRecorded(path, obj);
      if (content === undefined) continue;
      changes.push({ path, content });
      (had ? updated : created).push(ns ? `${ns}/${name}` : name);
    }
    for (const path of files.keys()) {
      if (!path.startsWith(base) || wanted.has(path)) continue;
      const parts = path.slice(base.length).split('/');
      if (parts.length !== 4 || parts[1] !== groupDir || parts[2] !== r.type.resource || !parts[3]?.endsWith('.yaml')) continue;
      const ns = parts[0] === '_cluster' ? '' : (parts[0] ?? '');
      if (!r.recorded(ns)) continue;
      changes.push({ path, content: null });
      const name = parts[3].slice(0, -'.yaml'.length);
      deleted.push(ns ? `${ns}/${name}` : name);
    }
    const cpChange = this.checkpointChange(key, r.resourceVersion);
    if (changes.length === 0) {
      cpChange.apply();
      return;
    }
    const sha = await this.o.writer.commit({
      changes: [...changes, ...cpChange.change],
      author: { name: KUBESCRIBE_USER, email: authorEmail(this.o.authorEmailTemplate, KUBESCRIBE_USER) },
      message: reconcileMessage({ group: r.type.group, version: r.type.version, resource: r.type.resource, reason: r.reason, created, updated, deleted, user: KUBESCRIBE_USER, cluster: this.o.cluster }),
    });
    cpChange.apply();
    this.o.logger.info({ sha, resource: r.type.resource, created: created.length, updated: updated.length, deleted: deleted.length }, 'committed reconcile');
    this.o.onCommit?.('reconcile', r);
  }
}
