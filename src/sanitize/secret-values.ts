// The plaintext of a sanitized Secret, set aside for the one consumer allowed to see it: the SOPS
// writer (sops-secret.ts), when a rule asks for reversible encryption. Held under a symbol, as a
// non-enumerable property, so that hashing, YAML, JSON and logs of the sanitized object never see
// it; it references the original object's fields (no copy) and lives as long as the sanitized object.

import type { KubeObject } from '../kube-object.ts';

const SECRET_VALUES = Symbol('kubescribe.secretValues');

export interface SecretValues {
  readonly data?: unknown;
  readonly stringData?: unknown;
}

export function setSecretValues(sanitized: KubeObject, original: KubeObject): void {
  Object.defineProperty(sanitized, SECRET_VALUES, { value: { data: original.data, stringData: original.stringData }, enumerable: false });
}

export function secretValuesOf(sanitized: KubeObject): SecretValues | undefined {
  return (sanitized as { [SECRET_VALUES]?: SecretValues })[SECRET_VALUES];
}
