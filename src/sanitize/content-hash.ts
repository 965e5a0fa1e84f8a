// The content hash that webhook and watch compute alike for the correlation key and change
// detection: hex SHA-256 of canonicalJson, i.e. of the content and order toYaml writes, without
// running the YAML serializer on the admission hot path.

import { createHash } from 'node:crypto';
import { canonicalJson, type CanonicalInput } from './canonical-json.ts';

/** Hex SHA-256 of `canonicalJson(value)` (UTF-8). Pass a sanitized object. */
export function contentHash(value: CanonicalInput): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('hex');
}

/** contentHash, with the length of the canonical JSON it hashed (what the object weighs in a queue). */
export function contentHashAndLength(value: CanonicalInput): { hash: string; length: number } {
  const json = canonicalJson(value);
  return { hash: createHash('sha256').update(json, 'utf8').digest('hex'), length: json.length };
}
