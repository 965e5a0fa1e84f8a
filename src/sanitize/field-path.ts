// Parses the dotted field paths users write in settings (`spec.replicas`,
// `metadata.annotations["example.com/x"]`, `spec.template.spec.containers[*].image`) into
// segments. Runs once at start-up when options are compiled, never on the hot path.

import { KubescribeError } from '../errors.ts';

export type FieldPathSegment =
  | { readonly type: 'key'; readonly key: string }
  | { readonly type: 'index'; readonly index: number }
  | { readonly type: 'any' };

/**
 * Grammar: a path is a first segment followed by `.name` or `[...]` segments.
 * - `name`: any characters but `.`, `[`, `]`; a bare `*` matches every key or element.
 * - `["key"]` / `['key']`: a key that may contain dots or brackets; `\` escapes the next character.
 * - `[0]`: an array element; `[*]`: every key or element.
 */
export function parseFieldPath(text: string): FieldPathSegment[] {
  const segments: FieldPathSegment[] = [];
  let i = 0;
  if (text.length === 0) fail('empty path');

  while (i < text.length) {
    const ch = text[i];
    if (ch === '[') {
      segments.push(readBracket());
    } else {
      if (segments.length > 0) {
        if (ch !== '.') fail('expected "." or "["');
        i++;
      }
      segments.push(readName());
    }
  }
  return segments;

  function fail(reason: string): never {
    throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `invalid field path ${JSON.stringify(text)}: ${reason} at offset ${i}`);
  }

  function readName(): FieldPathSegment {
    const start = i;
    while (i < text.length && text[i] !== '.' && text[i] !== '[' && text[i] !== ']') i++;
    if (i === start) fail('empty name');
    const name = text.slice(start, i);
    return name === '*' ? { type: 'any' } : { type: 'key', key: name };
  }

  function readBracket(): FieldPathSegment {
    i++; // '['
    const quote = text[i];
    let segment: FieldPathSegment;
    if (quote === '"' || quote === "'") {
      i++;
      let key = '';
      for (;;) {
        if (i >= text.length) fail('unterminated quoted key');
        const c = text[i];
        if (c === quote) break;
        if (c === '\\') {
          i++;
          if (i >= text.length) fail('unterminated escape');
        }
        key += text[i];
        i++;
      }
      i++; // closing quote
      segment = { type: 'key', key };
    } else {
      const start = i;
      while (i < text.length && text[i] !== ']') i++;
      const inner = text.slice(start, i);
      if (inner === '*') segment = { type: 'any' };
      else if (/^(0|[1-9][0-9]{0,8})$/.test(inner)) segment = { type: 'index', index: Number(inner) };
      else fail('expected a quoted key, an index or "*" inside brackets');
    }
    if (text[i] !== ']') fail('expected "]"');
    i++;
    return segment;
  }
}
