import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube-object.ts';
import { canonicalJson } from './canonical-json.ts';
import { compileSanitizeOptions, type SanitizeConfig } from './sanitize-options.ts';
import { sanitize } from './sanitize.ts';
import { configMapFixture, deploymentFixture, serviceFixture } from './testing/fixtures.ts';

const secretKey = Buffer.alloc(32, 9);
const defaults = compileSanitizeOptions({ secretKey });
const withExcludes = (excludeFields: SanitizeConfig['excludeFields']) => compileSanitizeOptions({ secretKey, excludeFields });

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

describe('sanitize: a Deployment as the API server sends it', () => {
  const out = sanitize(deploymentFixture(), defaults);

  it('drops status and server-set metadata', () => {
    expect(out.status).toBeUndefined();
    expect(Object.keys(out.metadata!).sort()).toEqual(['annotations', 'labels', 'name', 'namespace']);
  });

  it('drops noisy annotations and keeps the others', () => {
    expect(out.metadata!.annotations).toEqual({ 'shop.example.com/owner': 'team-checkout' });
  });

  it('keeps the spec as is, including kubectl.kubernetes.io/restartedAt (a user intent)', () => {
    expect(out.spec).toEqual(deploymentFixture().spec);
    const template = (out.spec as { template: { metadata: { annotations: Record<string, string> } } }).template;
    expect(template.metadata.annotations['kubectl.kubernetes.io/restartedAt']).toBe('2025-11-19T17:02:11Z');
  });

  it('keeps restartedAt in the object metadata too, and removes the leader annotation', () => {
    const obj = deploymentFixture();
    obj.metadata!.annotations = { 'kubectl.kubernetes.io/restartedAt': 'now', 'control-plane.alpha.kubernetes.io/leader': '{"holderIdentity":"a"}' };
    expect(sanitize(obj, defaults).metadata!.annotations).toEqual({ 'kubectl.kubernetes.io/restartedAt': 'now' });
  });

  it('keeps apiVersion, kind, name and namespace', () => {
    expect(out).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'shop' } });
  });
});

describe('sanitize: empty annotations and labels', () => {
  it('removes annotations emptied by stripping', () => {
    const obj = deploymentFixture();
    obj.metadata!.annotations = { 'deployment.kubernetes.io/revision': '3', 'kubectl.kubernetes.io/last-applied-configuration': '{}' };
    obj.metadata!.labels = {};
    const meta = sanitize(obj, defaults).metadata!;
    expect('annotations' in meta).toBe(false);
    expect('labels' in meta).toBe(false);
  });

  it('removes maps that arrived empty, so {} and absent hash alike', () => {
    const cm = configMapFixture();
    expect(cm.metadata!.annotations).toEqual({});
    const withEmpty = sanitize(cm, defaults);
    delete cm.metadata!.annotations;
    expect(canonicalJson(withEmpty)).toBe(canonicalJson(sanitize(cm, defaults)));
  });

  it('leaves other empty maps alone', () => {
    const out = sanitize(serviceFixture(), withExcludes(['spec.selector.app']));
    expect((out.spec as { selector: object }).selector).toEqual({});
  });
});

describe('sanitize: volatile fields per kind', () => {
  it('drops a Service clusterIP and clusterIPs, keeps the rest of its spec', () => {
    const spec = sanitize(serviceFixture(), defaults).spec as Record<string, unknown>;
    expect(spec.clusterIP).toBeUndefined();
    expect(spec.clusterIPs).toBeUndefined();
    expect(spec.ports).toEqual([{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }]);
    expect(spec.ipFamilies).toEqual(['IPv4']);
  });

  it.each([
    ['Pod', 'nodeName', 'node-1'],
    ['PersistentVolumeClaim', 'volumeName', 'pvc-0b6c7a3e'],
  ])('drops %s spec.%s', (kind, field, value) => {
    const obj: KubeObject = { apiVersion: 'v1', kind, metadata: { name: 'x', namespace: 'y' }, spec: { [field]: value, keep: 'me' } };
    expect(sanitize(obj, defaults).spec).toEqual({ keep: 'me' });
  });

  it('identifies kinds by apiVersion too: a custom Service keeps its clusterIP', () => {
    const custom = { ...serviceFixture(), apiVersion: 'mesh.example.com/v1' };
    expect((sanitize(custom, defaults).spec as Record<string, unknown>).clusterIP).toBe('10.96.14.201');
  });

  it('applies no per-kind rule to other kinds', () => {
    const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, spec: { clusterIP: '1.2.3.4', nodeName: 'n' } };
    expect(sanitize(cm, defaults).spec).toEqual({ clusterIP: '1.2.3.4', nodeName: 'n' });
  });
});

describe('sanitize: configured exclusions', () => {
  it('removes a dotted path', () => {
    expect((sanitize(deploymentFixture(), withExcludes(['spec.replicas'])).spec as Record<string, unknown>).replicas).toBeUndefined();
  });

  it('removes a key containing dots with the bracket form', () => {
    const out = sanitize(deploymentFixture(), withExcludes(['metadata.annotations["shop.example.com/owner"]']));
    expect(out.metadata!.annotations).toBeUndefined(); // and the emptied map went with it
  });

  it('restricts a rule to kinds, by kind name or by apiVersion/kind', () => {
    const options = withExcludes([{ path: 'spec.replicas', kinds: ['Deployment'] }, { path: 'spec.ports', kinds: ['v1/Service'] }, { path: 'spec.type', kinds: ['apps/v1/Service'] }]);
    const deployment = sanitize(deploymentFixture(), options).spec as Record<string, unknown>;
    const service = sanitize(serviceFixture(), options).spec as Record<string, unknown>;
    expect(deployment.replicas).toBeUndefined();
    expect(service.ports).toBeUndefined();
    expect(service.type).toBe('ClusterIP');
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'r' }, spec: { replicas: 2 } };
    expect(sanitize(obj, options).spec).toEqual({ replicas: 2 });
  });

  it('adds kind-restricted rules to the built-in ones of that kind', () => {
    const options = withExcludes([{ path: 'spec.sessionAffinity', kinds: ['Service'] }]);
    const spec = sanitize(serviceFixture(), options).spec as Record<string, unknown>;
    expect(spec.sessionAffinity).toBeUndefined();
    expect(spec.clusterIP).toBeUndefined();
  });

  it('supports wildcards and indexes in arrays', () => {
    const options = withExcludes(['spec.template.spec.containers[*].image', 'spec.template.spec.volumes[1]']);
    const spec = sanitize(deploymentFixture(), options).spec as { template: { spec: { containers: Record<string, unknown>[]; volumes: unknown[] } } };
    expect(spec.template.spec.containers.map((c) => [c.name, c.image])).toEqual([
      ['web', undefined],
      ['metrics', undefined],
    ]);
    expect(spec.template.spec.volumes).toEqual([{ name: 'config', configMap: { name: 'web-config', defaultMode: 420 } }]);
  });

  it('lets a named rule and a wildcard rule on the same level both apply', () => {
    const options = withExcludes(['spec.template.spec.containers[*].env', 'spec.template.spec.containers[0].ports']);
    const containers = (sanitize(deploymentFixture(), options).spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers;
    expect(containers[0]!.env).toBeUndefined();
    expect(containers[0]!.ports).toBeUndefined();
    expect(containers[1]!.env).toBeUndefined();
    expect(containers[1]!.ports).toBeDefined();
  });

  it('ignores paths that do not exist or cross a scalar', () => {
    const options = withExcludes(['spec.replicas.value', 'spec.nothing.here', 'spec.selector[3]']);
    expect(sanitize(deploymentFixture(), options).spec).toEqual(deploymentFixture().spec);
  });
});

describe('sanitize: the input', () => {
  it('is never mutated (deep-frozen input works, and is equal afterwards)', () => {
    for (const make of [deploymentFixture, serviceFixture, configMapFixture]) {
      const input = deepFreeze(make());
      const out = sanitize(input, withExcludes(['spec.template.spec.containers[*].image']));
      expect(input).toEqual(make());
      out.spec = { changed: true };
      expect(input).toEqual(make());
    }
  });

  it('shares no object with the output', () => {
    const input = deploymentFixture();
    const out = sanitize(input, defaults);
    const inputs = new Set<unknown>();
    const collect = (v: unknown, into: Set<unknown>) => {
      if (typeof v === 'object' && v !== null) {
        into.add(v);
        for (const c of Object.values(v)) collect(c, into);
      }
    };
    collect(input, inputs);
    const outputs = new Set<unknown>();
    collect(out, outputs);
    for (const o of outputs) expect(inputs.has(o)).toBe(false);
  });

  it('keeps __proto__ and constructor keys as plain data without touching prototypes', () => {
    const input = JSON.parse('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"__proto__":{"polluted":"yes"},"constructor":"c"}}') as KubeObject;
    const out = sanitize(input, defaults);
    const data = out.data as Record<string, unknown>;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.keys(data)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')!.value).toEqual({ polluted: 'yes' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((data as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('rejects what is not an object', () => {
    expect(() => sanitize(null as unknown as KubeObject, defaults)).toThrow(TypeError);
    expect(() => sanitize([] as unknown as KubeObject, defaults)).toThrow(TypeError);
  });

  it('sanitizes objects without apiVersion or kind by the rules for every kind', () => {
    expect(sanitize({ metadata: { name: 'x', uid: 'u' }, status: {} }, defaults)).toEqual({ metadata: { name: 'x' } });
  });
});
