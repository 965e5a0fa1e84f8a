// Git object ids computed in-process: the writer compares and builds trees by oid without
// reading blobs back, and resync compares the cluster's YAML with files() the same way.
import { createHash } from 'node:crypto';

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag';

/** sha1 of `<type> <size>\0<body>`: the id git gives this object. */
export function hashObject(type: ObjectType, body: Uint8Array): string {
  return createHash('sha1').update(`${type} ${body.byteLength}\0`).update(body).digest('hex');
}

/** The git blob id of a file with this (UTF-8) content. */
export function blobOid(content: string): string {
  return hashObject('blob', Buffer.from(content, 'utf8'));
}
