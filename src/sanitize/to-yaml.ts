// The ordered YAML written to Git: block style, no line folding, keys in canonical order (the
// order canonicalJson hashes, from the same canonicalKeys), trailing newline, byte-stable.
// Strings are quoted wherever a YAML 1.1 reader such as kubectl's would otherwise read a number,
// bool or null (`yes`, `on`, `0o17`, `1_000`), so `kubectl apply -f` of a recorded file round-trips.

import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node, type ScalarTag, type Tags } from 'yaml';
import type { CanonicalInput } from './canonical-json.ts';
import { canonicalKeys, childLevel, isRecordable, Level } from './canonical-order.ts';

export function toYaml(value: CanonicalInput): string {
  const doc = new Document(null, { schema: 'core', compat: 'yaml-1.1', customTags: withPortableStrings, version: '1.2' });
  doc.contents = toNode(value, Level.Root);
  return doc.toString({ lineWidth: 0, directives: false, indentSeq: false });
}

function toNode(value: unknown, level: Level): Node {
  if (typeof value === 'object' && value !== null) {
    if (Array.isArray(value)) {
      const seq = new YAMLSeq<Node>();
      for (const item of value) seq.items.push(toNode(isRecordable(item) ? item : null, Level.Nested));
      return seq;
    }
    const record = value as Record<string, unknown>;
    const map = new YAMLMap<Scalar, Node>();
    for (const key of canonicalKeys(value, level)) {
      if (isRecordable(record[key])) map.items.push(new Pair(scalar(key), toNode(record[key], childLevel(level, key))));
    }
    return map;
  }
  return scalar(value);
}

function scalar(value: unknown): Scalar {
  if (typeof value === 'string') {
    const node = new Scalar(value);
    if (NUMBER_LIKE.test(value)) node.type = Scalar.QUOTE_DOUBLE;
    return node;
  }
  if (typeof value === 'number') {
    // As in JSON (and so in canonicalJson): -0 is 0, NaN and Infinity are null.
    return new Scalar(Number.isFinite(value) ? value + 0 : null);
  }
  if (typeof value === 'boolean') return new Scalar(value);
  if (typeof value === 'bigint') return new Scalar(value);
  return new Scalar(null);
}

// Plain text that some YAML reader could take for a number: the YAML 1.1/1.2 schemas (checked by
// the library through `compat`) and Go's strconv, which go-yaml uses (`0o17`, `0x1p-2`, `1_000`).
const NUMBER_LIKE = /^[-+.]?[0-9]|^[-+]?\.(?:inf|nan)$/i;

// Characters a YAML 1.1 reader (go-yaml) rejects or takes for a line break when written raw:
// DEL, C1 controls (NEL among them), line and paragraph separators, BOM, U+FFFE and U+FFFF.
const RAW_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const RAW_UNSAFE_ALL = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** The core schema, with its string tag writing such characters as escapes. */
function withPortableStrings(tags: Tags): Tags {
  return tags.map((tag) => (typeof tag === 'object' && tag.tag === 'tag:yaml.org,2002:str' && tag.collection === undefined ? portableString(tag) : tag));
}

function portableString(base: ScalarTag): ScalarTag {
  const stringify = base.stringify!;
  return {
    ...base,
    stringify(item, ctx, onComment, onChompKeep) {
      const text = String((item as Scalar).value);
      if (!RAW_UNSAFE.test(text)) return stringify(item, ctx, onComment, onChompKeep);
      // JSON string syntax is valid YAML double-quoted syntax; escape what JSON leaves raw.
      return JSON.stringify(text).replace(RAW_UNSAFE_ALL, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
    },
  };
}
