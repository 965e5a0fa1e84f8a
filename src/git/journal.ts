// The object store's journal: an append-only file of length-prefixed records — an object (its
// type code and body), a delta (type code, 20-byte base id, delta), and a tip marker after each
// commit's objects. Written once per commit, so a commit survives a crash the moment it returns;
// read back on open up to the last complete record (a torn write ends the file).
import type { ObjectType } from './blob-oid.ts';

export const JOURNAL = 'kubescribe.journal';
export const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };
export const CODE_TYPE: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
/** A delta record: type code, base id, delta. */
export const DELTA = 5;
/** The branch tip after a commit's objects. */
export const TIP = 9;

/** One record, as buffers to append (the payload is not copied). */
export function journalRecord(kind: number, payload: Uint8Array): Buffer[] {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(payload.byteLength, 1);
  return [head, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)];
}

/** The complete records of a journal, in order; stops at a torn write. */
export function* journalRecords(data: Buffer): Generator<{ kind: number; payload: Buffer }> {
  let at = 0;
  while (at + 5 <= data.length) {
    const kind = data.readUInt8(at);
    const len = data.readUInt32BE(at + 1);
    if (at + 5 + len > data.length) return; // torn write: the crash happened here
    yield { kind, payload: data.subarray(at + 5, at + 5 + len) };
    at += 5 + len;
  }
}
