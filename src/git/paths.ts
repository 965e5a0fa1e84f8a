// Where an object lives in the repository, and the guard that keeps every written path inside
// it. The layout is the DESIGN contract `<baseFolder>/<namespace or _cluster>/<group or core>/
// <resource>/<name>.yaml`; every component is checked against what Kubernetes itself accepts, so
// a hostile or broken name can never climb out of its folder or hit a filesystem limit.
import { createHash } from 'node:crypto';
import { KubescribeError } from '../errors.ts';

export interface ObjectLocation {
  baseFolder: string;
  namespace?: string;
  group: string;
  resource: string;
  name: string;
}

// DNS-1123 label (namespaces, resources) and subdomain (groups).
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// Object names: DNS-1123 subdomains for most kinds; RBAC and a few others accept "path segment"
// names such as `system:controller:job-controller`. We take that wider set minus everything a
// file name should not hold: no slash, backslash, percent, whitespace, control characters, no
// leading dot and no `..`.
const OBJECT_NAME = /^[A-Za-z0-9]([A-Za-z0-9._:@+=~-]*[A-Za-z0-9_])?$/;
// 255 bytes is the usual file-name limit; the file name is `<name>.yaml`.
const MAX_NAME = 255 - '.yaml'.length;
const BASE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

function unsafe(what: string, value: string, why: string): KubescribeError {
  return new KubescribeError('KUBESCRIBE_ERR_GIT_PATH_UNSAFE', `unsafe ${what} ${JSON.stringify(value.slice(0, 300))}: ${why}`);
}

const validBaseFolders = new Set<string>();

/** Checks a base folder ('' = repository root) once; later calls with the same value are free. */
export function validateBaseFolder(baseFolder: string): string {
  if (validBaseFolders.has(baseFolder)) return baseFolder;
  if (baseFolder !== '') {
    if (baseFolder.length > 1024) throw unsafe('base folder', baseFolder, 'too long');
    for (const seg of baseFolder.split('/')) {
      if (!BASE_SEGMENT.test(seg) || seg === '..' || seg.includes('..')) {
        throw unsafe('base folder', baseFolder, 'expected a relative path of [A-Za-z0-9._-] segments, without "..", empty or dot-leading segments');
      }
    }
  }
  validBaseFolders.add(baseFolder);
  return baseFolder;
}

/** `<baseFolder>/<namespace or _cluster>/<group or core>/<resource>/<name>.yaml`, or KUBESCRIBE_ERR_GIT_PATH_UNSAFE. */
export function objectPath(p: ObjectLocation): string {
  const base = validateBaseFolder(p.baseFolder);
  if (p.namespace !== undefined && p.namespace !== '' && !DNS_LABEL.test(p.namespace)) throw unsafe('namespace', p.namespace, 'not a DNS-1123 label');
  if (p.namespace !== undefined && p.namespace.length > 63) throw unsafe('namespace', p.namespace, 'longer than 63 characters');
  if (p.group !== '' && (!DNS_SUBDOMAIN.test(p.group) || p.group.length > 253)) throw unsafe('group', p.group, 'not a DNS-1123 subdomain');
  if (!DNS_SUBDOMAIN.test(p.resource) || p.resource.length > 253) throw unsafe('resource', p.resource, 'not a lowercase resource name');
  const rel = `${p.namespace ? p.namespace : '_cluster'}/${p.group === '' ? 'core' : p.group}/${p.resource}/${fileName(p.name)}.yaml`;
  return base === '' ? rel : `${base}/${rel}`;
}

const ENCODE_KEEP = /^[A-Za-z0-9_:@+=~-]$/;

/**
 * The file name (without `.yaml`) of an object name. Ordinary names (DNS-1123, `system:…`) are
 * kept as they are. Names that Kubernetes accepts for some kinds but a file name should not hold
 * (`deploy bot`, `.hidden`, `a..b`, `élan`, `ops-`) are percent-encoded byte by byte, dots
 * included: Kubernetes forbids `%` in names, so an encoded name never equals another name's file.
 * Over 250 bytes: a prefix, `~` and a SHA-256 of the name.
 */
export function fileName(name: string): string {
  if (name === '') throw unsafe('name', name, 'empty');
  if (OBJECT_NAME.test(name) && !name.includes('..') && name.length <= MAX_NAME) return name;
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const ch = String.fromCharCode(byte);
    out += byte < 0x80 && ENCODE_KEEP.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length > MAX_NAME) out = `${out.slice(0, 180)}~${createHash('sha256').update(name).digest('hex')}`;
  return out;
}

/**
 * Guard for every path handed to commit(): relative, normalized, no empty, `.` or `..` segments,
 * no `.git` segment (git itself refuses those), no backslash or control characters.
 */
export function assertSafeRepoPath(path: string): void {
  if (path === '' || path.length > 4096) throw unsafe('path', path, 'empty or too long');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(path)) throw unsafe('path', path, 'contains a control character or backslash');
  if (path.startsWith('/')) throw unsafe('path', path, 'absolute');
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw unsafe('path', path, 'not normalized (empty, "." or ".." segment)');
    if (seg.toLowerCase() === '.git') throw unsafe('path', path, 'contains a .git segment');
    if (Buffer.byteLength(seg) > 255) throw unsafe('path', path, 'a segment is longer than 255 bytes');
  }
}

/** Branch names we accept: a plain subset of git's ref-name rules. */
export function assertSafeBranch(branch: string): void {
  const ok =
    /^[A-Za-z0-9._/-]+$/.test(branch) &&
    !branch.startsWith('-') &&
    !branch.split('/').some((s) => s === '' || s.startsWith('.') || s.endsWith('.lock')) &&
    !branch.includes('..') &&
    !branch.endsWith('.');
  if (!ok) throw new KubescribeError('KUBESCRIBE_ERR_SETTINGS_INVALID', `invalid branch name ${JSON.stringify(branch)}`);
}
