// Opt-in reversible Secret recording: the Secret as a SOPS file (the format `sops --decrypt`
// reads), its `data`/`stringData` values encrypted with AES-256-GCM under a fresh data key that is
// itself encrypted to each age recipient; everything else (metadata, type) stays readable, as
// `encrypted_regex: ^(data|stringData)$` tells sops. What sops checks is reproduced exactly: each
// value is sealed with its key path (`data:password:`) as additional data, and the MAC is the
// SHA-512 of every plaintext leaf in document order (the order toYaml writes), sealed with the
// `lastmodified` time as additional data.
//
// The writer keeps each file's data key in memory (SopsFileState), so that a value that did not
// change keeps its ciphertext and a commit's diff shows exactly the keys that changed.
//
// SOPS encryption is randomized, so equal Secrets never give equal files. Change detection uses the
// annotation `kubescribe.dev/content-hash`: the content hash of the Secret as kubescribe would record
// it without encryption (values as keyed-hash markers), so it reveals nothing a redacted file would
// not. An unchanged Secret has an unchanged hash and makes no commit (see sameEncryptedContent).

import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { armor, Encrypter } from 'age-encryption';
import { parse } from 'yaml';
import type { KubeObject } from '../kube-object.ts';
import { canonicalKeys, childLevel, isRecordable, Level } from './canonical-order.ts';
import { contentHash } from './content-hash.ts';
import { secretValuesOf } from './secret-values.ts';
import { toYaml } from './to-yaml.ts';

export const CONTENT_HASH_ANNOTATION = 'kubescribe.dev/content-hash';
export const SOPS_ENCRYPTED_REGEX = '^(data|stringData)$';
/** The sops release whose format this writes (and whose CLI the e2e decrypts with). */
export const SOPS_FORMAT_VERSION = '3.11.0';
const ENCRYPTED = new RegExp(SOPS_ENCRYPTED_REGEX);

/** True for an age public key the age library accepts (format and checksum), checked once at configuration time. */
export function isAgeRecipient(text: string): boolean {
  try {
    new Encrypter().addRecipient(text);
    return true;
  } catch {
    return false;
  }
}

/** True when `obj` is a sanitized Secret that still carries its values (see secret-values.ts). */
export function canEncrypt(obj: KubeObject): boolean {
  return secretValuesOf(obj) !== undefined;
}

/**
 * What the writer of a file keeps in memory to write its next version with the same data key: then
 * a value that did not change keeps its ciphertext, and the diff of a commit shows exactly the keys
 * that changed. Never stored anywhere: after a restart the next write re-encrypts every value.
 */
export interface SopsFileState {
  readonly dataKey: Buffer;
  readonly recipients: string;
  readonly age: ReadonlyArray<{ recipient: string; enc: string }>;
  /** key path (`data:password:`) → the keyed-hash marker of the value and its ciphertext. */
  readonly values: ReadonlyMap<string, { marker: unknown; enc: string }>;
}

/**
 * The SOPS file of a sanitized Secret (from `sanitize`), encrypted to `recipients` (age public
 * keys). Keys removed by sanitize (excludeFields) stay removed; only the values sanitize kept are
 * encrypted, from the plaintext sanitize set aside.
 */
export async function sopsSecretFile(sanitized: KubeObject, recipients: readonly string[], now = new Date()): Promise<string> {
  return (await sopsSecretFileWithState(sanitized, recipients, undefined, now)).text;
}

/** sopsSecretFile, reusing the data key and unchanged values' ciphertexts of `previous` (same recipients). */
export async function sopsSecretFileWithState(sanitized: KubeObject, recipients: readonly string[], previous: SopsFileState | undefined, now = new Date()): Promise<{ text: string; state: SopsFileState }> {
  const values = secretValuesOf(sanitized);
  if (!values) throw new TypeError('sopsSecretFile expects a sanitized Secret');
  if (recipients.length === 0) throw new TypeError('sopsSecretFile needs at least one age recipient');
  const plain: Record<string, unknown> = { ...sanitized };
  for (const field of ['data', 'stringData'] as const) {
    const kept = sanitized[field] as Record<string, unknown> | undefined;
    if (kept === undefined) continue;
    const original = (values[field] ?? {}) as Record<string, unknown>;
    plain[field] = Object.fromEntries(Object.keys(kept).map((k) => [k, original[k]]));
  }
  const metadata = (sanitized.metadata ?? {}) as Record<string, unknown>;
  const annotations = { ...(metadata.annotations as Record<string, string> | undefined), [CONTENT_HASH_ANNOTATION]: contentHash(sanitized) };
  plain.metadata = { ...metadata, annotations };

  const recipientsKey = [...recipients].sort().join('\n');
  const reuse = previous?.recipients === recipientsKey ? previous : undefined;
  const dataKey = reuse?.dataKey ?? randomBytes(32);
  const sealed = new Map<string, { marker: unknown; enc: string }>();
  const mac = createHash('sha512');
  const encrypted = walk(plain, [], Level.Root, (leaf, path) => {
    if (leaf === null) return null;
    mac.update(toBytes(leaf));
    if (!path.some((k) => ENCRYPTED.test(k))) return leaf;
    const at = `${path.join(':')}:`;
    // The marker sanitize wrote for this value (a keyed hash): equal markers, equal plaintext.
    const marker = path.length === 2 ? (sanitized[path[0]!] as Record<string, unknown> | undefined)?.[path[1]!] : undefined;
    const before = reuse?.values.get(at);
    const enc = before !== undefined && marker !== undefined && before.marker === marker ? before.enc : seal(leaf, dataKey, at);
    sealed.set(at, { marker, enc });
    return enc;
  }) as Record<string, unknown>;
  const lastmodified = now.toISOString().replace(/\.\d{3}Z$/, 'Z'); // Go's time.RFC3339
  const age = reuse ? [...reuse.age] : [];
  for (const recipient of reuse ? [] : recipients) {
    const e = new Encrypter();
    e.addRecipient(recipient);
    age.push({ recipient, enc: armor.encode(await e.encrypt(dataKey)) });
  }
  encrypted.sops = {
    age,
    lastmodified,
    mac: seal(mac.digest('hex').toUpperCase(), dataKey, lastmodified),
    encrypted_regex: SOPS_ENCRYPTED_REGEX,
    version: SOPS_FORMAT_VERSION,
  };
  return { text: toYaml(encrypted as KubeObject), state: { dataKey, recipients: recipientsKey, age, values: sealed } };
}

/**
 * Whether the SOPS file `text` (in the branch) records the same Secret as `sanitized`, encrypted to
 * the same recipients: then nothing is committed.
 */
export function sameEncryptedContent(text: string, sanitized: KubeObject, recipients: readonly string[]): boolean {
  let doc: { metadata?: { annotations?: Record<string, unknown> }; sops?: { age?: Array<{ recipient?: unknown }> } };
  try {
    doc = parse(text) as typeof doc;
  } catch {
    return false;
  }
  const hash = doc?.metadata?.annotations?.[CONTENT_HASH_ANNOTATION];
  const had = (doc?.sops?.age ?? []).map((a) => String(a.recipient)).sort();
  return hash === contentHash(sanitized) && had.join('\n') === [...recipients].sort().join('\n');
}

type Leaf = string | number | boolean | bigint | null;

/** Copies `value`, replacing each leaf by `onLeaf(leaf, keyPath)`, in the order toYaml writes keys. */
function walk(value: unknown, path: string[], level: Level, onLeaf: (leaf: Leaf, path: string[]) => unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(isRecordable(v) ? v : null, path, Level.Nested, onLeaf));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of canonicalKeys(value, level)) {
      const v = (value as Record<string, unknown>)[key];
      if (isRecordable(v)) out[key] = walk(v, [...path, key], childLevel(level, key), onLeaf);
    }
    return out;
  }
  return onLeaf(value as Leaf, path);
}

/** sops' ToBytes: how a leaf enters the MAC and the ciphertext. */
function toBytes(leaf: Exclude<Leaf, null>): string {
  if (typeof leaf === 'boolean') return leaf ? 'True' : 'False';
  if (typeof leaf === 'number') return goFloat(leaf);
  return String(leaf);
}

function sopsType(leaf: Exclude<Leaf, null>): string {
  if (typeof leaf === 'boolean') return 'bool';
  if (typeof leaf === 'number' || typeof leaf === 'bigint') return Number.isInteger(Number(leaf)) ? 'int' : 'float';
  return 'str';
}

/** One value as sops writes it: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` (an empty string stays empty). */
function seal(leaf: Exclude<Leaf, null>, key: Buffer, additionalData: string): string {
  const text = toBytes(leaf);
  if (text === '') return '';
  const iv = randomBytes(32); // sops' nonce size
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(additionalData, 'utf8'));
  const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${tag.toString('base64')},type:${sopsType(leaf)}]`;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64) (and Itoa for integers): shortest digits, no exponent. */
function goFloat(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', exp] = m;
  const digits = int! + frac;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
