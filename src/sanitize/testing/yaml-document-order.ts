// Test helper: the content of a YAML text as JSON written in the order of the document itself
// (not of a parsed JS object, whose integer-like keys JS would reorder), to compare toYaml's
// content and key order with canonicalJson byte for byte.

import { isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';

export function yamlInDocumentOrder(text: string): string {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw doc.errors[0];
  return write(doc.contents as Node | null);
}

function write(node: Node | null): string {
  if (isMap(node)) return '{' + node.items.map((p) => JSON.stringify(String((p.key as { value: unknown }).value)) + ':' + write(p.value as Node | null)).join(',') + '}';
  if (isSeq(node)) return '[' + node.items.map((n) => write(n as Node | null)).join(',') + ']';
  if (isScalar(node)) return JSON.stringify(node.value) ?? 'null';
  return 'null';
}
