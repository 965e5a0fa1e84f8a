// Commit signatures, as git writes and verifies them: the signature is over the commit object
// without its `gpgsig` header and goes into that header. Two formats, detected from the key:
// - SSH (git's gpg.format=ssh): an SSHSIG envelope (namespace "git", SHA-512) signed with an
//   OpenSSH or PEM private key (ed25519 or RSA, optional passphrase), parsed by ssh2 and signed with
//   node:crypto; verified by `git verify-commit` against an allowed-signers file.
// - OpenPGP: a detached binary-document signature made by the openpgp package, armored; verified by
//   gpg with the public key imported.
// The committer (kubescribe) is the signer; the author stays the Kubernetes user.
import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import * as openpgp from 'openpgp';
import { KubescribeError } from '../errors.ts';

export interface CommitSigner {
  format: 'ssh' | 'openpgp';
  /** The public key a reviewer adds to the allowed signers (SSH: one authorized_keys line; OpenPGP: armored). */
  publicKey: string;
  /** SSH: `SHA256:…` as ssh-keygen -l prints it; OpenPGP: the key's fingerprint in hex, upper case. */
  fingerprint: string;
  /** The armored signature of a commit object's bytes (without gpgsig). */
  sign(payload: Buffer): Promise<string>;
}

const invalid = (message: string): KubescribeError => new KubescribeError('KUBESCRIBE_ERR_GIT_SIGNING_KEY', message);

/** The signer of a private key (OpenSSH, PEM or armored OpenPGP); a clear error for anything else. */
export async function loadSigner(keyText: string, passphrase?: string): Promise<CommitSigner> {
  const text = keyText.trim();
  if (text.startsWith('-----BEGIN PGP PRIVATE KEY BLOCK-----')) return openpgpSigner(text, passphrase);
  if (/^-----BEGIN (OPENSSH|RSA|EC|PRIVATE) (PRIVATE )?KEY-----/.test(text) || text.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----')) return sshSigner(await loadSshUtils(), text, passphrase);
  throw invalid('signing.key is neither an OpenSSH/PEM private key nor an armored OpenPGP private key (-----BEGIN PGP PRIVATE KEY BLOCK-----)');
}

function sshString(b: Buffer | string): Buffer {
  const body = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** ssh2 is CommonJS (and kept out of the bundle): its named exports come through the default one. */
async function loadSshUtils(): Promise<typeof import('ssh2').utils> {
  const m = await import('ssh2');
  return ((m as { default?: typeof import('ssh2') }).default ?? m).utils;
}

function sshSigner(sshUtils: typeof import('ssh2').utils, text: string, passphrase?: string): CommitSigner {
  const parsed = sshUtils.parseKey(text, passphrase);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw invalid(`signing.key: ${key instanceof Error ? key.message.replace(/passphrase.*/i, 'wrong or missing passphrase') : 'no key found'}`);
  if (!key.isPrivateKey()) throw invalid('signing.key holds a public key; a private key is needed');
  const type = key.type;
  if (type !== 'ssh-ed25519' && type !== 'ssh-rsa') throw invalid(`signing.key: ${type} keys are not supported for signing; use ed25519 or RSA`);
  const privateKey: KeyObject = createPrivateKey(key.getPrivatePEM());
  const publicBlob = key.getPublicSSH();
  // RSA signs with SHA-512 (rsa-sha2-512), as ssh-keygen -Y sign does.
  const sigAlgo = type === 'ssh-rsa' ? 'rsa-sha2-512' : 'ssh-ed25519';
  const namespace = 'git';
  const signBlob = (payload: Buffer): Buffer => {
    const digest = createHash('sha512').update(payload).digest();
    const toSign = Buffer.concat([Buffer.from('SSHSIG'), sshString(namespace), sshString(''), sshString('sha512'), sshString(digest)]);
    const raw = cryptoSign(type === 'ssh-rsa' ? 'sha512' : null, toSign, privateKey);
    const version = Buffer.alloc(4);
    version.writeUInt32BE(1);
    return Buffer.concat([Buffer.from('SSHSIG'), version, sshString(publicBlob), sshString(namespace), sshString(''), sshString('sha512'), sshString(Buffer.concat([sshString(sigAlgo), sshString(raw)]))]);
  };
  return {
    format: 'ssh',
    publicKey: `${type} ${publicBlob.toString('base64')} kubescribe`,
    fingerprint: `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`,
    sign: async (payload) => {
      const b64 = signBlob(payload).toString('base64');
      return `-----BEGIN SSH SIGNATURE-----\n${b64.match(/.{1,70}/g)!.join('\n')}\n-----END SSH SIGNATURE-----`;
    },
  };
}

async function openpgpSigner(text: string, passphrase?: string): Promise<CommitSigner> {
  let key: openpgp.PrivateKey;
  try {
    key = await openpgp.readPrivateKey({ armoredKey: text });
    if (!key.isDecrypted()) {
      if (!passphrase) throw invalid('signing.key is encrypted: set signing.passphrase in the Secret');
      key = await openpgp.decryptKey({ privateKey: key, passphrase });
    }
  } catch (err) {
    if (err instanceof KubescribeError) throw err;
    throw invalid(`signing.key: not a usable OpenPGP private key (${(err as Error).message.replace(/passphrase.*/i, 'wrong passphrase')})`);
  }
  const signing = (await key.getSigningKey().catch(() => undefined))?.keyPacket;
  const fast = signing ? eddsaSignature(signing) : undefined;
  return {
    format: 'openpgp',
    publicKey: key.toPublic().armor(),
    fingerprint: key.getFingerprint().toUpperCase(),
    sign: fast ? async (payload) => fast(payload) : async (payload) => {
      const message = await openpgp.createMessage({ binary: new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength) });
      const signature = await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored', config: { preferredHashAlgorithm: openpgp.enums.hash.sha512 } });
      return String(signature).trim();
    },
  };
}

/**
 * A v4 binary-document signature (RFC 4880 §5.2.3) by an EdDSA (ed25519, gpg's default) signing
 * key, made with node:crypto; openpgp.js reads and decrypts the key and armors the packet. Why
 * not openpgp.sign: it took 665-1,284 µs a signature whatever the key type (a message, a packet
 * list and streams per call), about 8x what a commit may cost at the default batching; this path
 * takes ~60 µs, and gpg verifies both (src/git/signing.test.ts). Other key types use openpgp.sign.
 */
export function eddsaSignature(packet: { algorithm: number; version: number; privateParams?: object | null; getFingerprintBytes(): Uint8Array | null; getKeyID(): { toHex(): string } }): ((payload: Buffer) => string) | undefined {
  const seed = (packet.privateParams as { seed?: Uint8Array } | null | undefined)?.seed;
  const fingerprint = packet.getFingerprintBytes();
  if (packet.algorithm !== openpgp.enums.publicKey.eddsaLegacy || packet.version !== 4 || !seed || seed.length !== 32 || !fingerprint) return undefined;
  const privateKey = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
  const keyId = Buffer.from(packet.getKeyID().toHex(), 'hex');
  const mpi = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    const head = Buffer.alloc(2);
    head.writeUInt16BE((v.length - 1) * 8 + (32 - Math.clz32(v[0]!)));
    return Buffer.concat([head, v]);
  };
  return (payload) => {
    const created = Buffer.alloc(4);
    created.writeUInt32BE(Math.floor(Date.now() / 1000));
    const hashed = Buffer.concat([Buffer.from([5, 2]), created, Buffer.from([22, 33, 4]), fingerprint]);
    const head = Buffer.concat([Buffer.from([4, 0x00, openpgp.enums.publicKey.eddsaLegacy, openpgp.enums.hash.sha512, hashed.length >> 8, hashed.length & 0xff]), hashed]);
    const trailer = Buffer.alloc(6);
    trailer.writeUInt8(4, 0);
    trailer.writeUInt8(0xff, 1);
    trailer.writeUInt32BE(head.length, 2);
    const digest = createHash('sha512').update(payload).update(head).update(trailer).digest();
    const sig = cryptoSign(null, digest, privateKey);
    const unhashed = Buffer.concat([Buffer.from([9, 16]), keyId]);
    const body = Buffer.concat([head, Buffer.from([unhashed.length >> 8, unhashed.length & 0xff]), unhashed, digest.subarray(0, 2), mpi(sig.subarray(0, 32)), mpi(sig.subarray(32))]);
    const len = body.length;
    const tag = len < 192 ? Buffer.from([0xc2, len]) : Buffer.from([0xc2, ((len - 192) >> 8) + 192, (len - 192) & 0xff]);
    return openpgp.armor(openpgp.enums.armor.signature, Buffer.concat([tag, body])).trim();
  };
}
