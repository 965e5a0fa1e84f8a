// Generates the CustomResourceDefinitions from the zod schemas (schemas.ts): zod's JSON Schema,
// made structural for Kubernetes (types everywhere, no $schema / additionalProperties:false /
// huge maxima), plus a status schema and printer columns.
import { z } from 'zod';
import { GROUP, KINDS, VERSION, type KindName } from './schemas.ts';

type Json = { [k: string]: unknown };

function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema' || k === 'propertyNames') continue;
    if (k === 'additionalProperties' && v === false) continue;
    if ((k === 'maximum' && v === Number.MAX_SAFE_INTEGER) || (k === 'minimum' && v === Number.MIN_SAFE_INTEGER)) continue;
    out[k] = structural(v);
  }
  return out;
}

const conditionSchema = {
  type: 'object',
  required: ['type', 'status'],
  properties: {
    type: { type: 'string' }, status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string' }, message: { type: 'string' },
    lastTransitionTime: { type: 'string', format: 'date-time' }, observedGeneration: { type: 'integer' },
  },
};

const statusSchema = (kind: KindName): Json => ({
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer' },
    conditions: { type: 'array', items: conditionSchema, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] },
    checkpoint: {
      type: 'object',
      description: 'The last checkpoint kubescribe would not replay from (CheckpointFromOtherCluster, CheckpointAhead); a reconcile answered it.',
      properties: { reason: { type: 'string' }, message: { type: 'string' }, resource: { type: 'string' }, time: { type: 'string', format: 'date-time' } },
    },
    ...(kind === 'GitRepoConfig' ? { lastCommitSHA: { type: 'string' }, lastPushTime: { type: 'string', format: 'date-time' }, pendingCommits: { type: 'integer' },
      lastStoreRepair: { type: 'object', description: 'The last repair of the local clone (a damaged store rebuilt from a fresh clone, or a journal set right).', properties: { time: { type: 'string', format: 'date-time' }, action: { type: 'string', enum: ['repaired', 'rebuilt'] }, salvagedCommits: { type: 'integer' }, lostCommits: { type: 'integer' }, message: { type: 'string' } } },
      signing: { type: 'object', description: 'The commit signing key in use: add publicKey to the allowed signers of the Git host (SSH) or import it (OpenPGP).', properties: { format: { type: 'string', enum: ['ssh', 'openpgp'] }, publicKey: { type: 'string' }, fingerprint: { type: 'string' } } } } : { resources: { type: 'array', items: { type: 'string' }, description: 'The resource types this rule records, resolved.' } }),
  },
});

const columns = (kind: KindName): Json[] => [
  ...(kind === 'GitRepoConfig'
    ? [{ name: 'URL', type: 'string', jsonPath: '.spec.url' }, { name: 'Last Commit', type: 'string', jsonPath: '.status.lastCommitSHA' }, { name: 'Last Push', type: 'date', jsonPath: '.status.lastPushTime' }]
    : [{ name: 'Repo', type: 'string', jsonPath: '.spec.gitRepoConfigRef.name' }, { name: 'Branch', type: 'string', jsonPath: '.spec.branch' }, { name: 'Folder', type: 'string', jsonPath: '.spec.baseFolder' }]),
  { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
  { name: 'Reason', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
];

export function crdManifest(kind: KindName): Json {
  const k = KINDS[kind];
  const spec = structural(z.toJSONSchema(k.spec, { io: 'input', unrepresentable: 'any' })) as Json;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind, listKind: `${kind}List`, plural: k.plural, singular: k.singular, shortNames: [...k.shortNames], categories: ['kubescribe'] },
      scope: k.namespaced ? 'Namespaced' : 'Cluster',
      versions: [{
        name: VERSION, served: true, storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: columns(kind),
        schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec, status: statusSchema(kind) } } },
      }],
    },
  };
}

export function allCrdManifests(): Array<{ file: string; manifest: Json }> {
  return (Object.keys(KINDS) as KindName[]).map((kind) => ({ file: `${KINDS[kind].plural}.${GROUP}.yaml`, manifest: crdManifest(kind) }));
}
