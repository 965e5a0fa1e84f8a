// Certificates and keys of the local stack, made with Debian's openssl: one CA that signs the
// apiserver's serving cert, the users' client certs (CN = username, O = groups) and the webhook's
// serving cert, plus the service-account signing key pair.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertFiles { cert: string; key: string }

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is needed for the local stack (Debian package: openssl)');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? String(err)}`);
  }
}

/** Creates the CA once per stack dir; later calls reuse it so restarts keep trusting old certs. */
export async function ensureCA(dir: string): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const files = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  if (existsSync(files.cert)) return files;
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', files.key, '-out', files.cert, '-days', '3650', '-subj', '/CN=kubescribe-dev-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return files;
}

export interface CertRequest {
  name: string;
  commonName: string;
  organizations?: string[];
  usage: 'server' | 'client';
  ips?: string[];
  dnsNames?: string[];
}

export async function ensureCert(dir: string, ca: CertFiles, req: CertRequest): Promise<CertFiles> {
  const files = { cert: join(dir, `${req.name}.crt`), key: join(dir, `${req.name}.key`) };
  if (existsSync(files.cert)) return files;
  const subject = `/CN=${req.commonName}${(req.organizations ?? []).map((o) => `/O=${o}`).join('')}`;
  const csr = join(dir, `${req.name}.csr`);
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', files.key, '-out', csr, '-subj', subject], dir);
  const sans = [...(req.ips ?? []).map((ip) => `IP:${ip}`), ...(req.dnsNames ?? []).map((d) => `DNS:${d}`)];
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${req.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ].join('\n');
  const extFile = join(dir, `${req.name}.ext`);
  await writeFile(extFile, ext + '\n');
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-out', files.cert, '-days', '3650', '-extfile', extFile], dir);
  return files;
}

/** The key pair that signs and verifies service-account tokens. */
export async function ensureServiceAccountKeys(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const files = { privateKey: join(dir, 'sa.key'), publicKey: join(dir, 'sa.pub') };
  if (existsSync(files.publicKey)) return files;
  await openssl(['genrsa', '-out', files.privateKey, '2048'], dir);
  await openssl(['rsa', '-in', files.privateKey, '-pubout', '-out', files.publicKey], dir);
  return files;
}
