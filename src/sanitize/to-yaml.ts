// The ordered YAML written to Git: block style, no line folding, keys in canonical order (the
// order canonicalJson hashes, from the same canonicalKeys), trailing newline, byte-stable.
// Strings are quoted wherever a YAML 1.1 reader such as kubectl's would otherwise read a number,
// bool or null (`yes`, `on`, `0o17`, `1_000`), so `kubectl apply -f` of a recorded file round-trips.
// The common shapes are written by fast-yaml.ts, byte for byte as the library writes them here.

import { Document, Pair, Scalar, YAMLMap, YAMLSeq, type Node, type ScalarTag, type Tags } from 'yaml';
import { canonicalKeys, childLevel, isRecordable, Level } from './canonical-order.ts';
import { writeCanonicalJson, type CanonicalInput } from './canonical-json.ts';
import { fastYaml, type PlainTest } from './fast-yaml.ts';

export function toYaml(value: CanonicalInput): string {
  return fastYaml(value, resolvesToNonString()) ?? toYamlByLibrary(value);
}

const DOCUMENT_OPTIONS = { schema: 'core', compat: 'yaml-1.1', customTags: withKubescribeTags, version: '1.2' } as const;

/** toYaml through the YAML library alone: what fast-yaml.ts must equal byte for byte. */
export function toYamlByLibrary(value: CanonicalInput): string {
  const doc = new Document(null, DOCUMENT_OPTIONS);
  doc.contents = toNode(value, Level.Root, 0);
  return doc.toString({ lineWidth: 0, directives: false, indentSeq: false, doubleQuotedMinMultiLineLength: Number.MAX_SAFE_INTEGER });
}

let plainTest: PlainTest | undefined;

/** The library's own test of plain text against every tag of this schema (core + YAML 1.1 compat). */
function resolvesToNonString(): PlainTest {
  if (plainTest) return plainTest;
  const { tags, compat } = new Document(null, DOCUMENT_OPTIONS).schema;
  const tests = [...tags, ...(compat ?? [])]
    .filter((t): t is ScalarTag & { test: RegExp } => Boolean(t.default) && t.tag !== 'tag:yaml.org,2002:str' && 'test' in t && t.test instanceof RegExp)
    .map((t) => t.test);
  // One pass of one regular expression instead of ~20 calls (most strings fail at their first
  // character); the same answer, as long as the expressions share their flags.
  const combined = tests.every((re) => re.flags === '' && !/\\[1-9k]/.test(re.source)) ? new RegExp(tests.map((re) => `(?:${re.source})`).join('|')) : undefined;
  plainTest = combined ? (text) => combined.test(text) : (text) => tests.some((re) => re.test(text));
  return plainTest;
}

/**
 * Collections nested deeper than this are written on one line in flow style (JSON syntax, which
 * YAML flow syntax includes): the YAML library recurses deeply per level and would overflow the
 * stack at a few hundred levels, while canonicalJson handles thousands. Real objects never get here.
 */
const BLOCK_DEPTH_MAX = 64;

function toNode(value: unknown, level: Level, depth: number): Node {
  if (typeof value === 'object' && value !== null) {
    if (depth >= BLOCK_DEPTH_MAX) return new Scalar(new FlowText(writeCanonicalJson(value, Level.Nested)!));
    if (Array.isArray(value)) {
      const seq = new YAMLSeq<Node>();
      for (const item of value) seq.items.push(toNode(isRecordable(item) ? item : null, Level.Nested, depth + 1));
      return seq;
    }
    const record = value as Record<string, unknown>;
    const map = new YAMLMap<Scalar, Node>();
    for (const key of canonicalKeys(value, level)) {
      if (isRecordable(record[key])) map.items.push(new Pair(scalar(key), toNode(record[key], childLevel(level, key), depth + 1)));
    }
    return map;
  }
  return scalar(value);
}

/** A collection already written as canonical JSON, emitted as a flow collection. */
class FlowText {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

const flowTextTag: ScalarTag = {
  tag: 'tag:kubescribe.io,2025:flow-text',
  default: true, // never printed: the text is a plain YAML flow collection
  identify: (value) => value instanceof FlowText,
  resolve: (text) => text,
  stringify: (item) => escapeRawUnsafe(((item as Scalar).value as FlowText).text),
};

function scalar(value: unknown): Scalar {
  if (typeof value === 'string') {
    const node = new Scalar(value);
    if (NUMBER_LIKE.test(value) || (value.includes('\n') && BLANK_LEADING_LINE.test(value))) node.type = Scalar.QUOTE_DOUBLE;
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

// A whitespace-only line before the first line with content: the library writes such text as a
// block scalar that reads back without those spaces (or not at all), so it goes double-quoted.
const BLANK_LEADING_LINE = /^(?:[ \t]*\n)*[ \t]+(?:\n|$)/;

// Characters a YAML 1.1 reader (go-yaml) rejects or takes for a line break when written raw:
// DEL, C1 controls (NEL among them), line and paragraph separators, BOM, U+FFFE and U+FFFF.
const RAW_UNSAFE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/;
const RAW_UNSAFE_ALL = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** The core schema, with its string tag writing such characters as escapes, plus flow text. */
function withKubescribeTags(tags: Tags): Tags {
  const portable = tags.map((tag) => (typeof tag === 'object' && tag.tag === 'tag:yaml.org,2002:str' && tag.collection === undefined ? portableString(tag) : tag));
  return [...portable, flowTextTag];
}

/** In JSON text these characters can only occur inside strings, where \\u escapes mean the same. */
function escapeRawUnsafe(json: string): string {
  return RAW_UNSAFE.test(json) ? json.replace(RAW_UNSAFE_ALL, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : json;
}

function portableString(base: ScalarTag): ScalarTag {
  const stringify = base.stringify!;
  return {
    ...base,
    stringify(item, ctx, onComment, onChompKeep) {
      const text = String((item as Scalar).value);
      if (!RAW_UNSAFE.test(text)) return stringify(item, ctx, onComment, onChompKeep);
      // JSON string syntax is valid YAML double-quoted syntax; escape what JSON leaves raw.
      return escapeRawUnsafe(JSON.stringify(text));
    },
  };
}
