// Realistic objects as the API server hands them to webhook and watch (server-set metadata,
// managedFields, status, kubectl's last-applied annotation), for tests and benchmarks.
// Each call returns a fresh object, so a test may mutate or compare freely.

import type { JsonObject, KubeObject } from '../../kube-object.ts';

const TIME = '2025-11-20T09:14:07Z';

function container(name: string, image: string, port: number): JsonObject {
  return {
    name,
    image,
    imagePullPolicy: 'IfNotPresent',
    ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
    env: [
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'FEATURE_FLAGS', value: 'checkout-v2,fast-search' },
      { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-db', key: 'password' } } },
      { name: 'GOMAXPROCS', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1' } } },
    ],
    resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1', memory: '512Mi' } },
    readinessProbe: { httpGet: { path: '/healthz/ready', port: 'http', scheme: 'HTTP' }, periodSeconds: 5, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    livenessProbe: { httpGet: { path: '/healthz/live', port: 'http', scheme: 'HTTP' }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    volumeMounts: [
      { name: 'config', mountPath: '/etc/shop', readOnly: true },
      { name: 'cache', mountPath: '/var/cache/shop' },
    ],
    securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
  };
}

function managedFieldsEntry(manager: string, operation: string, fields: JsonObject): JsonObject {
  return { manager, operation, apiVersion: 'apps/v1', time: TIME, fieldsType: 'FieldsV1', fieldsV1: fields };
}

/** A Deployment of about 10 KB of JSON, with everything sanitize has to strip. */
export function deploymentFixture(): KubeObject {
  const spec: JsonObject = {
    replicas: 3,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
    selector: { matchLabels: { app: 'web' } },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    template: {
      metadata: {
        labels: { app: 'web', tier: 'frontend', 'app.kubernetes.io/version': '2.14.1' },
        annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-11-19T17:02:11Z', 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9090' },
      },
      spec: {
        serviceAccountName: 'web',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: { fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [container('web', 'registry.example.com/shop/web:2.14.1', 8080), container('metrics', 'registry.example.com/shop/exporter:0.9.3', 9090)],
        volumes: [
          { name: 'config', configMap: { name: 'web-config', defaultMode: 420 } },
          { name: 'cache', emptyDir: { sizeLimit: '1Gi' } },
        ],
        affinity: {
          podAntiAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'web' } } } },
            ],
          },
        },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'shop', effect: 'NoSchedule' }],
      },
    },
  };
  const lastApplied = JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop', annotations: {} }, spec });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: '6f1c2f0e-6a8e-4f39-9d0b-3c1f0f1f8a11',
      resourceVersion: '184467',
      generation: 12,
      creationTimestamp: TIME,
      labels: { app: 'web', 'app.kubernetes.io/part-of': 'shop' },
      annotations: {
        'deployment.kubernetes.io/revision': '12',
        'kubectl.kubernetes.io/last-applied-configuration': lastApplied,
        'shop.example.com/owner': 'team-checkout',
      },
      managedFields: [
        managedFieldsEntry('kubectl-client-side-apply', 'Update', {
          'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {}, 'f:shop.example.com/owner': {} }, 'f:labels': { '.': {}, 'f:app': {} } },
          'f:spec': { 'f:progressDeadlineSeconds': {}, 'f:replicas': {}, 'f:revisionHistoryLimit': {}, 'f:selector': {}, 'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} } },
        }),
        managedFieldsEntry('kube-controller-manager', 'Update', {
          'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } },
          'f:status': { 'f:availableReplicas': {}, 'f:conditions': { '.': {}, 'k:{"type":"Available"}': { '.': {}, 'f:lastTransitionTime': {}, 'f:message': {}, 'f:reason': {}, 'f:status': {}, 'f:type': {} } }, 'f:observedGeneration': {}, 'f:readyReplicas': {}, 'f:replicas': {}, 'f:updatedReplicas': {} },
        }),
      ],
    },
    spec,
    status: {
      observedGeneration: 12,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [
        { type: 'Available', status: 'True', lastUpdateTime: TIME, lastTransitionTime: TIME, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        { type: 'Progressing', status: 'True', lastUpdateTime: TIME, lastTransitionTime: TIME, reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-7d9c6b5f4d" has successfully progressed.' },
      ],
    },
  };
}

export function serviceFixture(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', uid: '0b6c7a3e-2b1d-4d3e-8f7a-1e2d3c4b5a69', resourceVersion: '1201', creationTimestamp: TIME, labels: { app: 'web' } },
    spec: {
      type: 'ClusterIP',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }],
      clusterIP: '10.96.14.201',
      clusterIPs: ['10.96.14.201'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

export const SECRET_PASSWORD = 'hunter2-Pa55';
export const SECRET_TOKEN = 'tok_live_9f8e7d6c5b4a';

/** A Secret with values in both `data` (base64) and `stringData`, and the last-applied copy. */
export function secretFixture(): KubeObject {
  const data = { password: Buffer.from(SECRET_PASSWORD).toString('base64'), 'ca.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n').toString('base64') };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name: 'shop-db',
      namespace: 'shop',
      uid: '9d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6',
      resourceVersion: '5512',
      annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'v1', kind: 'Secret', data, stringData: { token: SECRET_TOKEN } }) },
    },
    data,
    stringData: { token: SECRET_TOKEN },
  };
}

export function configMapFixture(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'web-config', namespace: 'shop', uid: 'c0ffee00-1111-4222-8333-444455556666', resourceVersion: '777', creationTimestamp: TIME, annotations: {} },
    data: {
      'app.yaml': 'listen: :8080\nfeatures:\n  - checkout-v2\n',
      LOG_LEVEL: 'info',
      ENABLED: 'yes',
      RETRIES: '3',
      VERSION: '2.10',
    },
  };
}

/** A deterministic pseudo-random source (mulberry32), so shuffles reproduce from a seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The same value with every object's keys in a random order (arrays keep theirs). */
export function shuffleKeys<T>(value: T, random: () => number = Math.random): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => shuffleKeys(v, random)) as T;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: shuffleKeys(v, random), enumerable: true, writable: true, configurable: true });
  return out as T;
}
