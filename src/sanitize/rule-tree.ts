// The compiled form of the field rules (built-in and user-configured): a tree that sanitize walks
// alongside the object while copying it. Wildcards are folded into the named branches here, once,
// so the hot path does a single Map lookup per key on rule paths and nothing at all elsewhere.

import type { FieldPathSegment } from './field-path.ts';

/** What happens to the value at a rule's path. */
export type FieldEffect = 'remove' | 'drop-if-empty' | 'redact-base64' | 'redact-utf8';

export interface FieldRule {
  readonly segments: readonly FieldPathSegment[];
  readonly effect: FieldEffect;
}

export interface RuleNode {
  /** Drop the value here. */
  readonly remove: boolean;
  /** Drop the value here when, after sanitizing, it is an object without keys. */
  readonly dropIfEmpty: boolean;
  /** Replace every value below (Secret `data`/`stringData`) by a keyed-hash marker. */
  readonly redact: 'base64' | 'utf8' | null;
  readonly keys: ReadonlyMap<string, RuleNode> | null;
  readonly indices: ReadonlyMap<number, RuleNode> | null;
  /** Rules for every key or element not named in `keys`/`indices` (already merged into those). */
  readonly any: RuleNode | null;
}

interface MutableNode {
  remove: boolean;
  dropIfEmpty: boolean;
  redact: 'base64' | 'utf8' | null;
  keys: Map<string, MutableNode> | null;
  indices: Map<number, MutableNode> | null;
  any: MutableNode | null;
}

const emptyNode = (): MutableNode => ({ remove: false, dropIfEmpty: false, redact: null, keys: null, indices: null, any: null });

export function buildRuleTree(rules: Iterable<FieldRule>): RuleNode {
  const root = emptyNode();
  for (const rule of rules) {
    let node = root;
    for (const seg of rule.segments) node = child(node, seg);
    applyEffect(node, rule.effect);
  }
  distributeWildcards(root);
  return freeze(root);
}

function child(node: MutableNode, seg: FieldPathSegment): MutableNode {
  if (seg.type === 'any') return (node.any ??= emptyNode());
  if (seg.type === 'key') {
    const keys = (node.keys ??= new Map());
    let next = keys.get(seg.key);
    if (!next) keys.set(seg.key, (next = emptyNode()));
    return next;
  }
  const indices = (node.indices ??= new Map());
  let next = indices.get(seg.index);
  if (!next) indices.set(seg.index, (next = emptyNode()));
  return next;
}

function applyEffect(node: MutableNode, effect: FieldEffect): void {
  if (effect === 'remove') node.remove = true;
  else if (effect === 'drop-if-empty') node.dropIfEmpty = true;
  else node.redact = effect === 'redact-base64' ? 'base64' : 'utf8';
}

/** Deep-merges `source` into `target` (copying, never sharing nodes). */
function mergeInto(target: MutableNode, source: MutableNode): void {
  target.remove ||= source.remove;
  target.dropIfEmpty ||= source.dropIfEmpty;
  target.redact ??= source.redact;
  if (source.keys) for (const [k, s] of source.keys) mergeInto(child(target, { type: 'key', key: k }), s);
  if (source.indices) for (const [i, s] of source.indices) mergeInto(child(target, { type: 'index', index: i }), s);
  if (source.any) mergeInto(child(target, { type: 'any' }), source.any);
}

/** After this, a named child carries the wildcard's rules too, so lookups need no second probe. */
function distributeWildcards(node: MutableNode): void {
  if (node.any) {
    if (node.keys) for (const c of node.keys.values()) mergeInto(c, node.any);
    if (node.indices) for (const c of node.indices.values()) mergeInto(c, node.any);
  }
  if (node.keys) for (const c of node.keys.values()) distributeWildcards(c);
  if (node.indices) for (const c of node.indices.values()) distributeWildcards(c);
  if (node.any) distributeWildcards(node.any);
}

function freeze(node: MutableNode): RuleNode {
  const mapValues = <K>(m: Map<K, MutableNode> | null): ReadonlyMap<K, RuleNode> | null =>
    m && new Map([...m].map(([k, v]) => [k, freeze(v)] as const));
  return Object.freeze({
    remove: node.remove,
    dropIfEmpty: node.dropIfEmpty,
    redact: node.redact,
    keys: mapValues(node.keys),
    indices: mapValues(node.indices),
    any: node.any && freeze(node.any),
  });
}
