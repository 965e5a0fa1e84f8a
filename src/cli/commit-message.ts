// The commit contract, read side: what a kubescribe commit says about the change it records.
// The trailers are authoritative; the subject (`UPDATE apps/v1 deployments shop/web`) is the
// fallback for commits whose trailers were lost (squashed, rewritten by hand). Parsing is
// deliberately tolerant: keys are case-insensitive, the core group may be written `/v1/...` or
// `v1/...`, and a missing field stays undefined rather than failing the whole history.

export const TRAILER = {
  operation: 'kubescribe-operation',
  resource: 'kubescribe-resource',
  object: 'kubescribe-object',
  user: 'kubescribe-user',
  groups: 'kubescribe-groups',
  resourceVersion: 'kubescribe-resource-version',
  candidates: 'kubescribe-candidates',
  deletion: 'kubescribe-deletion',
  releasedBy: 'kubescribe-released-by',
  cause: 'kubescribe-cause',
  cluster: 'kubescribe-cluster',
} as const;

export const KNOWN_OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'RECONCILE'] as const;

export interface CommitMeta {
  readonly operation: string | undefined;
  readonly user: string | undefined;
  readonly groups: readonly string[];
  readonly resource: { group: string; version: string; resource: string } | undefined;
  readonly object: { namespace: string | undefined; name: string } | undefined;
  readonly resourceVersion: string | undefined;
  /** When the change could be anyone of several people: all of them (user is then `unknown`). */
  readonly candidates: readonly string[];
  /** `requested` or `completed` for a deletion held by finalizers or a grace period. */
  readonly deletion: string | undefined;
  readonly releasedBy: string | undefined;
  /** A controller's deletion on someone's behalf: who set it off (Kubescribe-Cause; the user stays the controller). */
  readonly causes: readonly string[];
  /** The cluster that recorded the commit (several clusters into one repository). */
  readonly cluster: string | undefined;
}

const TRAILER_LINE = /^([A-Za-z0-9][A-Za-z0-9-]*):[ \t]*(.*?)\s*$/;

/**
 * Trailers as git reads them: the `Key: value` lines of the message's last paragraph. If that
 * paragraph holds no Kubescribe trailer, any `Kubescribe-*: ...` line of the message counts.
 * Keys are lower-cased; the last occurrence wins.
 */
export function parseTrailers(message: string): Map<string, string> {
  const paragraphs = message.replace(/\r\n/g, '\n').trim().split(/\n\s*\n/);
  const last = paragraphs.length > 1 ? (paragraphs.at(-1) ?? '') : '';
  const collect = (lines: string[], onlyKubescribe: boolean): Map<string, string> => {
    const found = new Map<string, string>();
    for (const line of lines) {
      const m = TRAILER_LINE.exec(line);
      if (!m) continue;
      const key = (m[1] ?? '').toLowerCase();
      if (onlyKubescribe && !key.startsWith('kubescribe-')) continue;
      found.set(key, m[2] ?? '');
    }
    return found;
  };
  const trailers = collect(last.split('\n'), false);
  if ([...trailers.keys()].some((k) => k.startsWith('kubescribe-'))) return trailers;
  return collect(message.split('\n').slice(1), true);
}

/** `apps/v1/deployments`, `/v1/configmaps` and `v1/configmaps` (core). */
export function parseResourceTrailer(value: string): CommitMeta['resource'] {
  const parts = value.trim().split('/');
  if (parts.length === 3 && parts.every((p, i) => p !== '' || i === 0)) {
    return { group: parts[0] ?? '', version: parts[1] ?? '', resource: parts[2] ?? '' };
  }
  if (parts.length === 2 && parts.every((p) => p !== '')) {
    return { group: '', version: parts[0] ?? '', resource: parts[1] ?? '' };
  }
  return undefined;
}

/** `shop/web` or `web` (cluster-scoped). */
export function parseObjectTrailer(value: string): CommitMeta['object'] {
  const parts = value.trim().split('/');
  if (parts.length === 1 && parts[0] !== '') return { namespace: undefined, name: parts[0] ?? '' };
  if (parts.length === 2 && parts[0] !== '' && parts[1] !== '') return { namespace: parts[0], name: parts[1] ?? '' };
  return undefined;
}

/** `<OPERATION> <group/version> <resource> <namespace/name>`; a reconcile subject may say anything after its operation. */
function parseSubject(subject: string): { operation: string; resource?: string; object?: string } | undefined {
  const words = subject.trim().split(/\s+/);
  const operation = words[0] ?? '';
  if (!(KNOWN_OPERATIONS as readonly string[]).includes(operation)) return undefined;
  if (words.length !== 4) return { operation };
  return { operation, resource: `${words[1]}/${words[2]}`, object: words[3] };
}

export function parseCommitMessage(message: string): CommitMeta {
  const trailers = parseTrailers(message);
  const subject = parseSubject(message.split('\n', 1)[0] ?? '');
  const operation = trailers.get(TRAILER.operation)?.toUpperCase() || subject?.operation;
  const resourceText = trailers.get(TRAILER.resource) ?? subject?.resource;
  const objectText = trailers.get(TRAILER.object) ?? subject?.object;
  const groups = (trailers.get(TRAILER.groups) ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');

  return {
    operation,
    user: trailers.get(TRAILER.user) || undefined,
    groups,
    resource: resourceText === undefined ? undefined : parseResourceTrailer(resourceText),
    object: objectText === undefined ? undefined : parseObjectTrailer(objectText),
    resourceVersion: trailers.get(TRAILER.resourceVersion) || undefined,
    candidates: (trailers.get(TRAILER.candidates) ?? '').split(',').map((c) => c.trim()).filter((c) => c !== ''),
    deletion: trailers.get(TRAILER.deletion) || undefined,
    releasedBy: trailers.get(TRAILER.releasedBy) || undefined,
    causes: (trailers.get(TRAILER.cause) ?? '').split(',').map((c) => c.trim()).filter((c) => c !== ''),
    cluster: trailers.get(TRAILER.cluster) || undefined,
  };
}
