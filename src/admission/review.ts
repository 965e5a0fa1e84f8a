// The AdmissionReview v1 wire format: decode (with checks that give a clear message for what is
// malformed) and encode. Kept apart from the handler, which sees only a typed request.
import { KubescribeError } from '../errors.ts';
import type { KubeObject } from '../kube-object.ts';

export interface AdmissionRequest {
  uid: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  namespace: string;
  name: string;
  userInfo: { username: string; uid?: string; groups: string[] };
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
  /** options.fieldManager of the create/update/patch request, when given. */
  fieldManager?: string;
}

export interface AdmissionResponseBody {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: { uid: string; allowed: true };
}

const OPERATIONS = new Set(['CREATE', 'UPDATE', 'DELETE', 'CONNECT']);

function malformed(message: string): KubescribeError {
  return new KubescribeError('KUBESCRIBE_ERR_ADMISSION_MALFORMED', `malformed AdmissionReview: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown, path: string, required = true): string {
  if (typeof v === 'string') return v;
  if (!required && (v === undefined || v === null)) return '';
  throw malformed(`${path} must be a string`);
}

function objectOrNull(v: unknown, path: string): KubeObject | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) throw malformed(`${path} must be an object`);
  if (v.metadata !== undefined && !isObject(v.metadata)) throw malformed(`${path}.metadata must be an object`);
  return v as KubeObject;
}

export function decodeAdmissionReview(body: unknown): AdmissionRequest {
  if (!isObject(body)) throw malformed('the body must be a JSON object');
  if (body.apiVersion !== 'admission.k8s.io/v1') throw malformed(`apiVersion must be admission.k8s.io/v1, got ${JSON.stringify(body.apiVersion)?.slice(0, 64)}`);
  if (body.kind !== 'AdmissionReview') throw malformed(`kind must be AdmissionReview, got ${JSON.stringify(body.kind)?.slice(0, 64)}`);
  const r = body.request;
  if (!isObject(r)) throw malformed('request is missing');
  const uid = str(r.uid, 'request.uid');
  if (uid === '') throw malformed('request.uid is empty');
  const operation = str(r.operation, 'request.operation');
  if (!OPERATIONS.has(operation)) throw malformed(`request.operation ${JSON.stringify(operation.slice(0, 32))} is not CREATE, UPDATE, DELETE or CONNECT`);
  const res = r.resource;
  if (!isObject(res)) throw malformed('request.resource is missing');
  const ui = r.userInfo;
  if (!isObject(ui)) throw malformed('request.userInfo is missing');
  const groups = ui.groups ?? [];
  if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) throw malformed('request.userInfo.groups must be a list of strings');
  return {
    uid,
    operation: operation as AdmissionRequest['operation'],
    resource: { group: str(res.group, 'request.resource.group', false), version: str(res.version, 'request.resource.version'), resource: str(res.resource, 'request.resource.resource') },
    subResource: str(r.subResource, 'request.subResource', false) || undefined,
    namespace: str(r.namespace, 'request.namespace', false),
    name: str(r.name, 'request.name', false),
    userInfo: { username: str(ui.username, 'request.userInfo.username'), uid: str(ui.uid, 'request.userInfo.uid', false) || undefined, groups: groups as string[] },
    object: objectOrNull(r.object, 'request.object'),
    oldObject: objectOrNull(r.oldObject, 'request.oldObject'),
    dryRun: r.dryRun === true,
    fieldManager: isObject(r.options) && typeof r.options.fieldManager === 'string' ? r.options.fieldManager : undefined,
  };
}

export function allowedResponse(uid: string): AdmissionResponseBody {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } };
}
