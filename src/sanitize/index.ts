// The public face of sanitize: strip volatile fields, redact Secret values, and give the one
// canonical form of an object as JSON (for the content hash) and as ordered YAML (for Git).

export { sanitize } from './sanitize.ts';
export { compileSanitizeOptions, SanitizeOptions, MIN_SECRET_KEY_BYTES, type SanitizeConfig, type ExcludeFieldRule } from './sanitize-options.ts';
export { canonicalJson, type CanonicalInput } from './canonical-json.ts';
export { contentHash, contentHashAndLength } from './content-hash.ts';
export { sanitizedContentHash } from './sanitized-content-hash.ts';
export { toYaml } from './to-yaml.ts';
export { REDACTION_MARKER_PREFIX, isRedactionMarker } from './redaction-marker.ts';
export { canEncrypt, isAgeRecipient, sopsSecretFile, sopsSecretFileWithState, sameEncryptedContent, CONTENT_HASH_ANNOTATION, type SopsFileState } from './sops-secret.ts';
