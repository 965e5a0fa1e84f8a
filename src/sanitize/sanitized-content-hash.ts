// The webhook's fingerprint: contentHash(sanitize(obj)) without the sanitized copy and without the
// canonical text as a string. One walk along the compiled rule tree writes the UTF-8 bytes of the
// canonical JSON of exactly what sanitize would keep into one reused buffer, hashed in one update;
// nothing the rules drop (managedFields, status, the last-applied copy) is even visited. Bytes, not
// a string: a string built by `+=` is a rope, and flattening it for the hash cost as much as
// writing it. The walk must apply the rules exactly as sanitize.ts does (skip undefined, remove,
// drop-if-empty, redact before truncating, MAX_DEPTH), and write exactly what canonicalJson writes:
// sanitized-content-hash.property.test.ts holds it to `contentHash(sanitize(obj))` on arbitrary
// objects. The watch keeps using sanitize + contentHash: it needs the copy for the YAML anyway.

import { hash } from 'node:crypto';
import type { KubeObject } from '../kube-object.ts';
import { quote } from './canonical-json.ts';
import { canonicalKeys, childLevel, Level } from './canonical-order.ts';
import type { RuleNode } from './rule-tree.ts';
import type { SanitizeOptions } from './sanitize-options.ts';
import { markerOf, MAX_DEPTH, TRUNCATED } from './sanitize.ts';

type Rec = Record<string, unknown>;

/** Equal to `contentHash(sanitize(obj, options))` for every input, at a fraction of the cost. */
export function sanitizedContentHash(obj: KubeObject, options: SanitizeOptions): string {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new TypeError('sanitize expects a Kubernetes object (a JSON object)');
  }
  pos = 0;
  try {
    writeObject(obj as Rec, options.rulesFor(obj.apiVersion, obj.kind), options, MAX_DEPTH, Level.Root);
    // One-shot: no Hash object per request.
    return hash('sha256', buf.subarray(0, pos), 'hex');
  } finally {
    // One huge object (the body limit is 8 MiB) must not pin its buffer for good.
    if (buf.length > MAX_KEPT_BYTES) buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }
}

// ---- the output buffer: module-level and reused (the walk is synchronous) ------------------------

const INITIAL_BYTES = 64 * 1024;
const MAX_KEPT_BYTES = 1024 * 1024;
let buf = Buffer.allocUnsafe(INITIAL_BYTES);
let pos = 0;

function reserve(bytes: number): void {
  if (pos + bytes <= buf.length) return;
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + bytes));
  buf.copy(next, 0, 0, pos);
  buf = next;
}

function writeByte(byte: number): void {
  if (pos === buf.length) reserve(1);
  buf[pos++] = byte;
}

/** Text known to be ASCII (numbers, literals). */
function writeAscii(text: string): void {
  reserve(text.length);
  for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
}

/** `quote(text)` as UTF-8: printable ASCII is copied directly, anything else goes through quote. */
function writeString(text: string): void {
  const n = text.length;
  reserve(n + 2);
  const b = buf;
  let p = pos;
  b[p++] = QUOTE;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) return writeQuoted(text);
    b[p++] = c;
  }
  b[p++] = QUOTE;
  pos = p;
}

/** `,"key":` (the comma unless first), the one sequence written for every key. */
function writeKey(key: string, first: boolean): void {
  const n = key.length;
  reserve(n + 4);
  const b = buf;
  let p = pos;
  if (!first) b[p++] = COMMA;
  b[p++] = QUOTE;
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === BACKSLASH) {
      if (!first) pos++;
      writeQuoted(key);
      return writeByte(COLON);
    }
    b[p++] = c;
  }
  b[p++] = QUOTE;
  b[p++] = COLON;
  pos = p;
}

function writeQuoted(text: string): void {
  const quoted = quote(text);
  reserve(quoted.length * 3);
  pos += buf.write(quoted, pos, 'utf8');
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/** JSON leaves these out of objects and writes null for them in arrays (as canonicalJson does). */
function omitted(value: unknown): boolean {
  const t = typeof value;
  return t === 'undefined' || t === 'function' || t === 'symbol';
}

/** A non-object value, as canonicalJson writes it in an array (null for what JSON leaves out). */
function writeScalar(value: unknown): void {
  switch (typeof value) {
    case 'string':
      return writeString(value);
    case 'number':
      return writeAscii(Number.isFinite(value) ? String(value) : 'null');
    case 'boolean':
      return writeAscii(value ? 'true' : 'false');
    case 'bigint':
      return writeAscii(value.toString());
    default:
      return writeAscii('null');
  }
}

// ---- the walk, mirroring sanitize.ts -----------------------------------------------------------

/** writeValue's answer when the value is an object: how many keys sanitize would have kept. */
const NOT_AN_OBJECT = -1;

/** sanitize's copyValue for a value with rules, written; returns kept keys or NOT_AN_OBJECT. */
function writeValue(value: unknown, node: RuleNode, options: SanitizeOptions, depth: number, level: Level): number {
  if (node.redact !== null) return writeRedacted(value, node, options, level);
  if (typeof value !== 'object' || value === null) {
    writeScalar(value);
    return NOT_AN_OBJECT;
  }
  if (depth === 0) {
    writeString(TRUNCATED);
    return NOT_AN_OBJECT;
  }
  if (Array.isArray(value)) {
    writeArray(value, node, options, depth);
    return NOT_AN_OBJECT;
  }
  return writeObject(value as Rec, node, options, depth, level);
}

function writeObject(obj: Rec, node: RuleNode, options: SanitizeOptions, depth: number, level: Level): number {
  const keys = canonicalKeys(obj, level);
  writeByte(0x7b);
  let kept = 0;
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = obj[key];
    if (value === undefined) continue;
    const child = node.keys?.get(key) ?? node.any ?? undefined;
    if (child?.remove) continue;
    kept++;
    // sanitize keeps such a key, JSON leaves it out (unless it is redacted: a marker is text).
    if ((child === undefined || child.redact === null) && omitted(value)) continue;
    const mark = pos;
    writeKey(key, first);
    const valueLevel = level === Level.Nested ? level : childLevel(level, key);
    if (child === undefined) {
      writePlain(value, depth - 1, valueLevel);
    } else if (writeValue(value, child, options, depth - 1, valueLevel) === 0 && child.dropIfEmpty) {
      pos = mark;
      kept--;
      continue;
    }
    first = false;
  }
  writeByte(0x7d);
  return kept;
}

function writeArray(arr: readonly unknown[], node: RuleNode, options: SanitizeOptions, depth: number): void {
  writeByte(0x5b);
  let first = true;
  for (let i = 0; i < arr.length; i++) {
    const child = node.indices?.get(i) ?? node.any ?? undefined;
    if (child?.remove) continue;
    if (!first) writeByte(COMMA);
    first = false;
    const value = arr[i];
    if (child !== undefined) writeValue(value, child, options, depth - 1, Level.Nested);
    else if (omitted(value)) writeAscii('null');
    else writePlain(value, depth - 1, Level.Nested);
  }
  writeByte(0x5d);
}

/** Everything no rule points into (most of a Deployment's spec); the caller has checked `omitted`. */
function writePlain(value: unknown, depth: number, level: Level): void {
  if (typeof value !== 'object' || value === null) return writeScalar(value);
  if (depth === 0) return writeString(TRUNCATED);
  if (Array.isArray(value)) {
    writeByte(0x5b);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) writeByte(COMMA);
      const v: unknown = value[i];
      if (omitted(v)) writeAscii('null');
      else writePlain(v, depth - 1, Level.Nested);
    }
    return writeByte(0x5d);
  }
  const obj = value as Rec;
  const keys = canonicalKeys(obj, level);
  writeByte(0x7b);
  let first = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = obj[key];
    if (omitted(v)) continue;
    writeKey(key, first);
    first = false;
    writePlain(v, depth - 1, level === Level.Nested ? level : childLevel(level, key));
  }
  writeByte(0x7d);
}

/** Secret `data`/`stringData`, as sanitize's redact: keys stay, every value becomes its marker. */
function writeRedacted(value: unknown, node: RuleNode, options: SanitizeOptions, level: Level): number {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    writeString(markerOf(value, node, options));
    return NOT_AN_OBJECT;
  }
  const obj = value as Rec;
  const keys = canonicalKeys(obj, level);
  writeByte(0x7b);
  let kept = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = obj[key];
    if (v === undefined || (node.keys?.get(key) ?? node.any)?.remove) continue;
    writeKey(key, kept++ === 0);
    writeString(markerOf(v, node, options));
  }
  writeByte(0x7d);
  return kept;
}
