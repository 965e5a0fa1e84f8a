// The ordered YAML of to-yaml.ts without the YAML library, for the objects Kubernetes is made of:
// the library takes ~0.1 ms for a small ConfigMap and ~2 ms for a Deployment (node objects, tag
// resolution, generic stringify), which made toYaml the largest cost of a start-up snapshot and of
// each commit (see docs/benchmarks.md). This writer produces exactly the library's bytes for the
// cases it knows (block maps and sequences, integers, booleans, null, plain and simply quoted
// strings, literal block strings) and answers undefined for anything else, which toYaml then
// hands to the library. Which strings may be plain is decided as the library decides (the
// rules of its plainString, with the tag tests of the same schema passed in as `resolvesToNonString`);
// fast-yaml.test.ts checks it byte for byte against the library on generated objects.

import { canonicalKeys, childLevel, isRecordable, Level } from './canonical-order.ts';

/** The library's check: would this plain text read back as something other than a string? */
export type PlainTest = (text: string) => boolean;

const BLOCK_DEPTH_MAX = 64; // as in to-yaml.ts: deeper collections are written in flow style there
const KEY_LENGTH_MAX = 1024; // longer keys become explicit `? key` in the library

// Characters this writer handles; anything else (controls, DEL, C1, line/paragraph separators,
// BOM, surrogates: escaped or quoted by the library) goes to the library.
const SAFE = /^[\t\n\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$/;
// Text the library writes as "text" when it must quote: no quotes, backslash, tab or newline.
const DOUBLE_QUOTABLE = /^[\x20\x21\x23-\x5b\x5d-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$/;
// The library's plainString: what cannot start, end or appear in plain text.
const NOT_PLAIN = /^[\n\t ,[\]{}#&*!|>'"%@`]|^[?-]$|^[?-][ \t]|[\n:][ \t]|[ \t]\n|[\n\t ]#|[\n\t :]$/;
const DOCUMENT_MARKER = /^(%|---|\.\.\.)/m;
// to-yaml.ts: text some YAML reader could take for a number, and multi-line text whose leading
// blank lines a block scalar would lose, are double-quoted.
const NUMBER_LIKE = /^[-+.]?[0-9]|^[-+]?\.(?:inf|nan)$/i;
const BLANK_LEADING_LINE = /^(?:[ \t]*\n)*[ \t]+(?:\n|$)/;
const BLOCK_TRAILING_BLANK = /\n[\t ]+$/;

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

/** The YAML of `value` as toYaml writes it, or undefined when the library must write it. */
export function fastYaml(value: unknown, resolvesToNonString: PlainTest): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  try {
    const w = new Writer(resolvesToNonString);
    const body = w.map(value as Record<string, unknown>, Level.Root, '', 0);
    return body === '{}' ? '{}\n' : body + '\n';
  } catch (err) {
    if (err === UNSUPPORTED) return undefined;
    throw err;
  }
}

class Writer {
  constructor(private readonly special: PlainTest) {}

  /** A block map at `indent` (its first line unindented), or `{}`. */
  map(obj: Record<string, unknown>, level: Level, indent: string, depth: number): string {
    if (depth >= BLOCK_DEPTH_MAX) throw UNSUPPORTED;
    const inner = indent + '  ';
    let out = '';
    for (const key of canonicalKeys(obj, level)) {
      const v = obj[key];
      if (!isRecordable(v)) continue;
      const k = this.string(key, true, inner);
      if (k.length > KEY_LENGTH_MAX) throw UNSUPPORTED;
      if (out !== '') out += '\n' + indent;
      out += k + ':' + this.value(v, level === Level.Nested ? level : childLevel(level, key), inner, depth + 1);
    }
    return out === '' ? '{}' : out;
  }

  /** A block sequence at `indent` (its first line unindented), or `[]`. */
  seq(arr: readonly unknown[], indent: string, depth: number): string {
    if (depth >= BLOCK_DEPTH_MAX) throw UNSUPPORTED;
    if (arr.length === 0) return '[]';
    const inner = indent + '  ';
    let out = '';
    for (let i = 0; i < arr.length; i++) {
      const item = isRecordable(arr[i]) ? arr[i] : null;
      if (i > 0) out += '\n' + indent;
      out += '- ' + this.node(item, inner, depth + 1);
    }
    return out;
  }

  /** A sequence item at `indent`. */
  private node(v: unknown, indent: string, depth: number): string {
    if (typeof v === 'object' && v !== null) return Array.isArray(v) ? this.seq(v, indent, depth) : this.map(v as Record<string, unknown>, Level.Nested, indent, depth);
    return this.scalar(v, indent);
  }

  /** What follows `key:` for a value whose own lines are at `indent`. */
  private value(v: unknown, level: Level, indent: string, depth: number): string {
    if (typeof v === 'object' && v !== null) {
      if (Array.isArray(v)) {
        if (v.length === 0) return depth >= BLOCK_DEPTH_MAX ? this.unsupported() : ' []';
        // indentSeq: false: a sequence under a key starts at the key's column.
        const seqIndent = indent.slice(2);
        return '\n' + seqIndent + this.seq(v, seqIndent, depth);
      }
      const body = this.map(v as Record<string, unknown>, level, indent, depth);
      return body === '{}' ? ' {}' : '\n' + indent + body;
    }
    return ' ' + this.scalar(v, indent);
  }

  private scalar(v: unknown, indent: string): string {
    switch (typeof v) {
      case 'string':
        return this.string(v, false, indent);
      case 'number':
        if (!Number.isFinite(v)) return 'null';
        if (!Number.isSafeInteger(v)) throw UNSUPPORTED; // the library's float formatting
        return String(v);
      case 'boolean':
        return v ? 'true' : 'false';
      case 'object':
        return 'null';
      default:
        throw UNSUPPORTED;
    }
  }

  private string(s: string, implicitKey: boolean, indent: string): string {
    if (!SAFE.test(s)) throw UNSUPPORTED;
    const multiline = s.includes('\n');
    if (NUMBER_LIKE.test(s) || (multiline && BLANK_LEADING_LINE.test(s))) return this.quoted(s);
    if (implicitKey && multiline) throw UNSUPPORTED;
    if (NOT_PLAIN.test(s)) return multiline ? this.block(s, indent) : this.quoted(s);
    if (multiline) return this.block(s, indent);
    if (DOCUMENT_MARKER.test(s)) throw UNSUPPORTED;
    if (this.special(s)) return this.quoted(s);
    return s; // lineWidth 0: never folded
  }

  private quoted(s: string): string {
    if (!DOUBLE_QUOTABLE.test(s)) throw UNSUPPORTED;
    return '"' + s + '"';
  }

  /** A literal block scalar, for the common shapes: no leading blanks, at most one trailing newline. */
  private block(s: string, indent: string): string {
    if (indent === '' || BLOCK_TRAILING_BLANK.test(s)) throw UNSUPPORTED;
    const first = s.charCodeAt(0);
    if (first === 0x20 || first === 0x0a) throw UNSUPPORTED; // an indentation indicator
    let body = s;
    let chomp = '-';
    const last = s.charCodeAt(s.length - 1);
    if (last === 0x0a) {
      body = s.slice(0, -1);
      const before = body.charCodeAt(body.length - 1);
      if (before === 0x0a || before === 0x20 || before === 0x09) throw UNSUPPORTED; // keep (+) or trailing blanks
      chomp = '';
    } else if (last === 0x20 || last === 0x09) {
      throw UNSUPPORTED;
    }
    return `|${chomp}\n${indent}${body.replace(/\n+/g, `$&${indent}`)}`;
  }

  private unsupported(): never {
    throw UNSUPPORTED;
  }
}
