// Sanitize: the recordable content of an object, computed the same way by webhook and watch.
// One copying pass guided by the compiled rule tree drops volatile fields, noisy annotations and
// user exclusions, and replaces Secret values by keyed-hash markers. The input is never mutated,
// and `__proto__`/`constructor` keys in the input stay plain data in the output.

import type { KubeObject } from '../kube-object.ts';
import { canonicalJson, type CanonicalInput } from './canonical-json.ts';
import type { RuleNode } from './rule-tree.ts';
import type { SanitizeOptions } from './sanitize-options.ts';
import { setSecretValues } from './secret-values.ts';

type Rec = Record<string, unknown>;

/** A new object: what kubescribe records of `obj`. Pass it to contentHash or toYaml. */
export function sanitize(obj: KubeObject, options: SanitizeOptions): KubeObject {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    throw new TypeError('sanitize expects a Kubernetes object (a JSON object)');
  }
  const rules = options.rulesFor(obj.apiVersion, obj.kind);
  const out = copyObject(obj as Rec, rules, options, MAX_DEPTH) as KubeObject;
  // A redacted Secret keeps its values aside (non-enumerable) for the opt-in SOPS writer.
  if (rules.keys?.get('data')?.redact || rules.keys?.get('stringData')?.redact) setSecretValues(out, obj);
  return out;
}

/**
 * The apiserver accepts objects nested ~10,000 levels deep (custom resources with unknown
 * fields), deeper than recursion here and in canonicalJson/toYaml can go. Anything below this
 * depth is replaced by a marker — the same on the webhook and the watch side, so hashes still
 * match and the author is kept — and the cut is visible in Git.
 */
export const MAX_DEPTH = 512;
export const TRUNCATED = `kubescribe: nested deeper than ${MAX_DEPTH} levels, not recorded`;

function copyValue(value: unknown, node: RuleNode | undefined, options: SanitizeOptions, depth: number): unknown {
  if (node !== undefined && node.redact !== null) return redact(value, node, options);
  if (typeof value !== 'object' || value === null) return value;
  if (depth === 0) return TRUNCATED;
  if (node === undefined) return Array.isArray(value) ? copyArrayPlain(value, depth) : copyObjectPlain(value as Rec, depth);
  return Array.isArray(value) ? copyArray(value, node, options, depth) : copyObject(value as Rec, node, options, depth);
}

function copyObject(obj: Rec, node: RuleNode, options: SanitizeOptions, depth: number): Rec {
  const out: Rec = {};
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    if (value === undefined) continue;
    const child = node.keys?.get(key) ?? node.any ?? undefined;
    if (child === undefined) {
      setOwn(out, key, copyValue(value, undefined, options, depth - 1));
      continue;
    }
    if (child.remove) continue;
    const copy = copyValue(value, child, options, depth - 1);
    if (child.dropIfEmpty && isEmptyObject(copy)) continue;
    setOwn(out, key, copy);
  }
  return out;
}

function copyArray(arr: readonly unknown[], node: RuleNode, options: SanitizeOptions, depth: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < arr.length; i++) {
    const child = node.indices?.get(i) ?? node.any ?? undefined;
    if (child?.remove) continue;
    out.push(copyValue(arr[i], child, options, depth - 1));
  }
  return out;
}

// The plain copies run for everything no rule points into (most of a Deployment's spec).
function copyObjectPlain(obj: Rec, depth: number): Rec {
  const out: Rec = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined) continue;
    setOwn(out, key, typeof v === 'object' && v !== null ? plain(v, depth - 1) : v);
  }
  return out;
}

function copyArrayPlain(arr: readonly unknown[], depth: number): unknown[] {
  const out = new Array<unknown>(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    out[i] = typeof v === 'object' && v !== null ? plain(v, depth - 1) : v;
  }
  return out;
}

function plain(v: object, depth: number): unknown {
  if (depth === 0) return TRUNCATED;
  return Array.isArray(v) ? copyArrayPlain(v, depth) : copyObjectPlain(v as Rec, depth);
}

/**
 * Secret `data`/`stringData`: keys stay (they are not secret and show what changed), every value
 * becomes a marker. `data` values are base64: the marker covers the decoded bytes, so the same
 * value gives the same marker in either field. Anything unexpected is hashed whole, never copied.
 */
function redact(value: unknown, node: RuleNode, options: SanitizeOptions): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return markerOf(value, node, options);
  const obj = value as Rec;
  const out: Rec = {};
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    if (v === undefined || (node.keys?.get(key) ?? node.any)?.remove) continue;
    setOwn(out, key, markerOf(v, node, options));
  }
  return out;
}

/** The marker of one Secret value under a redacting rule (shared with sanitizedContentHash). */
export function markerOf(value: unknown, node: RuleNode, options: SanitizeOptions): string {
  if (typeof value !== 'string') return options.secretMarker(canonicalJson(value as CanonicalInput));
  if (node.redact === 'base64') {
    const bytes = Buffer.from(value, 'base64');
    // Only canonical base64 is decoded; other text is hashed as text rather than lossily decoded.
    if (bytes.toString('base64') === value) return options.secretMarker(bytes);
  }
  return options.secretMarker(value);
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;
}

/** Assignment, except for `__proto__`, which would set the prototype instead of a key. */
function setOwn(out: Rec, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
