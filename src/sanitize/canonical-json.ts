// The canonical text of an object: compact JSON in canonical key order (see canonical-order.ts).
// It is what contentHash hashes on the hot path, so it is written directly, without the YAML
// serializer, yet holds exactly the content and order that toYaml writes to Git.

import type { JsonValue, KubeObject } from '../kube-object.ts';
import { canonicalKeys, childLevel, Level } from './canonical-order.ts';

export type CanonicalInput = KubeObject | JsonValue;

/**
 * Deterministic JSON: the same content gives the same text, whatever the input's key order.
 * Same values as JSON.stringify: undefined/functions left out (null in arrays), -0 is 0,
 * NaN/Infinity are null, lone surrogates escaped.
 */
export function canonicalJson(value: CanonicalInput): string {
  return writeCanonicalJson(value, Level.Root) ?? 'null';
}

/** canonicalJson of a value found at `level` (undefined for values JSON leaves out). */
export function writeCanonicalJson(value: unknown, level: Level): string | undefined {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += writeCanonicalJson(value[i], Level.Nested) ?? 'null';
        }
        return out + ']';
      }
      const record = value as Record<string, unknown>;
      const keys = canonicalKeys(value, level);
      let out = '{';
      let first = true;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const text = writeCanonicalJson(record[key], level === Level.Nested ? level : childLevel(level, key));
        if (text === undefined) continue;
        if (first) first = false;
        else out += ',';
        out += quoteKey(key) + ':' + text;
      }
      return out + '}';
    }
    default:
      return undefined;
  }
}

// Characters JSON.stringify escapes (quotes, backslash, controls, surrogates: a lone one is escaped).
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** A JSON string literal, as JSON.stringify writes it. */
export function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : '"' + text + '"';
}

// Field names repeat from request to request; bounded, since keys also come from user data.
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = quote(key);
    if (quotedKeys.size >= QUOTED_KEYS_MAX) quotedKeys.clear();
    quotedKeys.set(key, quoted);
  }
  return quoted;
}
