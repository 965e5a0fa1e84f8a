// Turns the sanitize settings (secret key, extra field exclusions) into compiled, frozen options,
// once at start-up: paths are parsed and merged with the built-in rules into one rule tree per
// kind, so that sanitizing an object on the hot path does no string parsing at all.

import { KubescribeError } from '../errors.ts';
import { BUILTIN_RULES } from './builtin-rules.ts';
import { parseFieldPath, type FieldPathSegment } from './field-path.ts';
import { redactionMarker } from './redaction-marker.ts';
import { buildRuleTree, type FieldEffect, type FieldRule, type RuleNode } from './rule-tree.ts';

/** An extra field to leave out of what is recorded, optionally only for some kinds. */
export interface ExcludeFieldRule {
  /** `spec.replicas`, `metadata.annotations["example.com/x"]`, `spec.template.spec.containers[*].image`. */
  readonly path: string;
  /** `Deployment` (any apiVersion), `apps/v1/Deployment` or `v1/Service`; absent: every kind. */
  readonly kinds?: readonly string[];
}

/** The sanitize settings as written by a user (validated by `compileSanitizeOptions`). */
export interface SanitizeConfig {
  /**
   * HMAC key for Secret value markers, at least 16 bytes. Every replica (webhook and watch alike)
   * must use the same key, and it must persist across restarts: a new key changes every marker.
   */
  readonly secretKey: Buffer | Uint8Array;
  readonly excludeFields?: readonly (string | ExcludeFieldRule)[];
}

export const MIN_SECRET_KEY_BYTES = 16;

const invalid = (message: string, cause?: unknown): KubescribeError =>
  new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `sanitize: ${message}`, cause === undefined ? undefined : { cause });

/**
 * Compiled sanitize options. Build with `compileSanitizeOptions`. The key is held in a private
 * field, so logging or serializing the options never prints it.
 */
export class SanitizeOptions {
  readonly #secretKey: Buffer;
  readonly #anyKind: RuleNode;
  readonly #byKind: ReadonlyMap<string, RuleNode>;
  readonly #byApiVersionKind: ReadonlyMap<string, RuleNode>;

  private constructor(secretKey: Buffer, rules: readonly SelectedRule[]) {
    this.#secretKey = secretKey;
    const anyKind = rules.filter((r) => r.selector === null);
    const kindOnly = (kind: string) => rules.filter((r) => r.selector?.kind === kind && r.selector.apiVersion === null);
    const byKind = new Map<string, RuleNode>();
    const byApiVersionKind = new Map<string, RuleNode>();
    for (const { selector } of rules) {
      if (selector === null) continue;
      const { kind, apiVersion } = selector;
      if (!byKind.has(kind)) byKind.set(kind, buildRuleTree([...anyKind, ...kindOnly(kind)]));
      if (apiVersion !== null) {
        const key = `${apiVersion}/${kind}`;
        const exact = rules.filter((r) => r.selector?.kind === kind && r.selector.apiVersion === apiVersion);
        if (!byApiVersionKind.has(key)) byApiVersionKind.set(key, buildRuleTree([...anyKind, ...kindOnly(kind), ...exact]));
      }
    }
    this.#anyKind = buildRuleTree(anyKind);
    this.#byKind = byKind;
    this.#byApiVersionKind = byApiVersionKind;
    Object.freeze(this);
  }

  /** @internal The factory behind `compileSanitizeOptions`. */
  static compile(config: SanitizeConfig): SanitizeOptions {
    if (typeof config !== 'object' || config === null) throw invalid('options must be an object');
    for (const key of Object.keys(config)) {
      if (key === 'redactSecrets') {
        throw invalid('there is no "redactSecrets" option: Secret values are always redacted and never written in plaintext');
      }
      if (key !== 'secretKey' && key !== 'excludeFields') throw invalid(`unknown option "${key}"`);
    }
    const rawKey: unknown = config.secretKey;
    if (!(rawKey instanceof Uint8Array) || rawKey.length < MIN_SECRET_KEY_BYTES) {
      throw invalid(
        `"secretKey" is required: a Buffer of at least ${MIN_SECRET_KEY_BYTES} random bytes, the HMAC key for Secret value markers ` +
          '(a plain hash would let anyone guess short Secret values from the Git history)',
      );
    }
    const rawExcludes: unknown = config.excludeFields ?? [];
    if (!Array.isArray(rawExcludes)) throw invalid('"excludeFields" must be a list');

    const rules: SelectedRule[] = BUILTIN_RULES.flatMap((b) => selectedRules(parseFieldPath(b.path), b.effect, b.kinds));
    rawExcludes.forEach((entry: unknown, i: number) => {
      try {
        rules.push(...userRules(entry));
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        throw invalid(`excludeFields[${i}]: ${reason.replace(/^sanitize: /, '')}`, err);
      }
    });
    // Copied, so a caller reusing its buffer cannot change markers behind our back.
    return new SanitizeOptions(Buffer.from(rawKey), rules);
  }

  /** The rule tree for an object of this apiVersion and kind (built-in rules plus settings). */
  rulesFor(apiVersion: unknown, kind: unknown): RuleNode {
    if (typeof kind !== 'string') return this.#anyKind;
    // List responses omit apiVersion/kind on items; a Secret must be redacted all the same.
    const version = typeof apiVersion === 'string' && apiVersion !== '' ? apiVersion : kind === 'Secret' ? 'v1' : '';
    return this.#byApiVersionKind.get(`${version}/${kind}`) ?? this.#byKind.get(kind) ?? this.#anyKind;
  }

  /** The marker that replaces a Secret value (`value`: the decoded bytes, or the text of `stringData`). */
  secretMarker(value: Buffer | string): string {
    return redactionMarker(this.#secretKey, value);
  }
}

interface KindSelector {
  readonly apiVersion: string | null;
  readonly kind: string;
}

interface SelectedRule extends FieldRule {
  readonly selector: KindSelector | null;
}

/** Parses the settings once; throws KUBESCRIBE_ERR_SETTINGS_INVALID with the offending entry. */
export function compileSanitizeOptions(config: SanitizeConfig): SanitizeOptions {
  return SanitizeOptions.compile(config);
}

function selectedRules(segments: FieldPathSegment[], effect: FieldEffect, kinds: readonly string[] | undefined): SelectedRule[] {
  if (kinds === undefined) return [{ segments, effect, selector: null }];
  return kinds.map((k) => ({ segments, effect, selector: parseKindSelector(k) }));
}

function userRules(entry: unknown): SelectedRule[] {
  const rule: { path?: unknown; kinds?: unknown } = typeof entry === 'string' ? { path: entry } : (entry as object);
  if (typeof rule !== 'object' || rule === null) throw invalid('expected a path or { path, kinds }');
  for (const key of Object.keys(rule)) if (key !== 'path' && key !== 'kinds') throw invalid(`unknown field "${key}"`);
  if (typeof rule.path !== 'string') throw invalid('"path" must be a string');
  if (rule.kinds !== undefined && (!Array.isArray(rule.kinds) || rule.kinds.length === 0 || !rule.kinds.every((k) => typeof k === 'string'))) {
    throw invalid('"kinds" must be a non-empty list of kinds');
  }
  const segments = parseFieldPath(rule.path.trim());
  assertNotIdentity(rule.path, segments);
  return selectedRules(segments, 'remove', rule.kinds as string[] | undefined);
}

/** The identity of an object is what the Git path and the correlation key are made of. */
function assertNotIdentity(path: string, segments: FieldPathSegment[]): void {
  const [first, second] = segments;
  const isKey = (s: FieldPathSegment | undefined, ...names: string[]) => s !== undefined && (s.type === 'any' || (s.type === 'key' && names.includes(s.key)));
  if (isKey(first, 'apiVersion', 'kind') || (isKey(first, 'metadata') && (second === undefined || isKey(second, 'name', 'namespace')))) {
    throw invalid(`"${path}" would remove the object's identity (apiVersion, kind, metadata.name, metadata.namespace)`);
  }
}

function parseKindSelector(text: string): KindSelector {
  const parts = text.split('/');
  const kind = parts.pop() ?? '';
  const apiVersion = parts.length === 0 ? null : parts.join('/');
  const kindOk = /^[A-Za-z][A-Za-z0-9]*$/.test(kind);
  const versionOk = apiVersion === null || /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?v[0-9][a-z0-9]*$/.test(apiVersion);
  if (!kindOk || !versionOk) throw invalid(`invalid kind "${text}": expected Kind, v1/Kind or group/version/Kind`);
  return { apiVersion, kind };
}
