import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { KubeObject } from '../kube-object.ts';
import { canonicalJson } from './canonical-json.ts';
import { compileSanitizeOptions } from './sanitize-options.ts';
import { sanitize, TRUNCATED } from './sanitize.ts';
import { configMapFixture, deploymentFixture, secretFixture, serviceFixture, shuffleKeys } from './testing/fixtures.ts';
import { yamlInDocumentOrder } from './testing/yaml-document-order.ts';
import { toYaml } from './to-yaml.ts';

const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 5) });

describe('toYaml', () => {
  it('writes a ConfigMap exactly like this', () => {
    expect(toYaml(sanitize(configMapFixture(), options))).toBe(
      [
        'apiVersion: v1',
        'kind: ConfigMap',
        'metadata:',
        '  name: web-config',
        '  namespace: shop',
        'data:',
        '  ENABLED: "yes"',
        '  LOG_LEVEL: info',
        '  RETRIES: "3"',
        '  VERSION: "2.10"',
        '  app.yaml: |',
        '    listen: :8080',
        '    features:',
        '      - checkout-v2',
        '',
      ].join('\n'),
    );
  });

  it('writes the same content in the same order as canonicalJson', () => {
    for (const make of [deploymentFixture, serviceFixture, secretFixture, configMapFixture]) {
      const obj = sanitize(make(), options);
      expect(yamlInDocumentOrder(toYaml(obj))).toBe(canonicalJson(obj));
    }
  });

  it('is byte-stable: shuffled key order gives the same bytes', () => {
    const expected = toYaml(sanitize(deploymentFixture(), options));
    for (let i = 0; i < 10; i++) expect(toYaml(sanitize(shuffleKeys(deploymentFixture()), options))).toBe(expected);
    expect(toYaml(sanitize(deploymentFixture(), options))).toBe(expected);
  });

  it('uses block style, sequences as kubectl writes them, and one trailing newline', () => {
    const text = toYaml(sanitize(serviceFixture(), options));
    expect(text).toContain('\n  ports:\n  - name: http\n    port: 80\n    protocol: TCP\n    targetPort: http\n  selector:\n    app: web\n');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(false);
    expect(text).not.toMatch(/^%YAML|^---/);
  });

  it('never folds long lines', () => {
    const long = 'word '.repeat(500).trim();
    const text = toYaml({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { long } });
    expect(text).toContain(`  long: ${long}\n`);
  });

  it.each(['yes', 'no', 'on', 'off', 'y', 'N', 'True', 'FALSE', 'null', '~', '', '3', '2.10', '0o17', '0x1F', '1_000', '0x1p-2', '12:30', '1e3', '.inf', '-.Inf', '.NaN', '+12', '2025-11-20', '<<'])(
    'quotes %j, which a YAML 1.1 or 1.2 reader could take for a non-string',
    (value) => {
      const text = toYaml({ [value]: value } as KubeObject);
      expect(text).not.toMatch(new RegExp(`^${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:`, 'm'));
      expect(parse(text, { version: '1.1' })).toEqual({ [value]: value });
      expect(parse(text)).toEqual({ [value]: value });
    },
  );

  it('keeps numbers, bools and null as such', () => {
    expect(toYaml({ a: 1, b: 1.5, c: true, d: null, e: -0, f: NaN } as unknown as KubeObject)).toBe('a: 1\nb: 1.5\nc: true\nd: null\ne: 0\nf: null\n');
  });

  it('escapes characters that YAML 1.1 readers reject or read as line breaks', () => {
    const value = 'a\u0085b\u2028c\u2029d\ufeffe\u007ff\u0080g\ufffe';
    const text = toYaml({ k: value } as KubeObject);
    expect(text).toBe('k: "a\\u0085b\\u2028c\\u2029d\\ufeffe\\u007ff\\u0080g\\ufffe"\n');
    expect(parse(text)).toEqual({ k: value });
    expect(parse(text, { version: '1.1' })).toEqual({ k: value });
  });

  it('round-trips control characters, lone surrogates, RTL and trailing spaces', () => {
    const values = ['nul\0', 'esc\u001b', 'lone\ud800', '\udc00', 'rtl \u202eabc', 'trail \nx', '  lead\nx', 'cr\rx', 'multi\nline\n', 'tab\tx', '# not a comment', '- not a list', 'key: value', '"quoted"', "'single'", '*alias', '&anchor', '!tag', '%directive', '@at', '`tick`', '|', '>', '---', '...'];
    for (const v of values) expect(parse(toYaml({ v } as KubeObject))).toEqual({ v });
  });

  it.each([' \n', '  \n\n', '\n \n', ' \n\tx\n', '\t\n \nx', 'a: 1\n  \nb: 2\n'])('round-trips whitespace-only lines in %j (a YAML library pitfall)', (v) => {
    for (const obj of [{ v }, { v: [[v]] }, { v: { w: [v] } }]) expect(parse(toYaml(obj as KubeObject))).toEqual(obj);
  });

  it('keeps multi-line text with content first as a block literal, readable in diffs', () => {
    expect(toYaml({ v: 'a: 1\n  \nb: 2\n' } as KubeObject)).toBe('v: |\n  a: 1\n    \n  b: 2\n');
  });

  it('writes collections nested deeper than 64 levels in flow style, with the same content', () => {
    let deep: unknown = 'leaf\u2028';
    for (let i = 0; i < 300; i++) deep = i % 3 === 0 ? [deep] : { b: deep, a: i };
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: deep } as KubeObject;
    const text = toYaml(obj);
    expect(text).toMatch(/^ {64,}(- |b: )[[{]/m);
    expect(text.includes('\u2028')).toBe(false); // escaped, not raw
    expect(text).toContain('leaf\\u2028');
    expect(yamlInDocumentOrder(text)).toBe(canonicalJson(obj));
  });

  it('does not throw on 4000 levels of nesting (as deep as JSON.stringify goes)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 4000; i++) deep = i % 2 ? [deep] : { k: deep };
    const obj = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'deep' }, data: deep } as KubeObject;
    expect(canonicalJson(obj)).toBe(JSON.stringify(obj));
    expect(toYaml(obj).length).toBeGreaterThan(4000);
    // sanitize cuts what is deeper than MAX_DEPTH, the same way every time (webhook and watch alike).
    const sanitized = sanitize(obj, options);
    expect(canonicalJson(sanitized)).toContain(JSON.stringify(TRUNCATED));
    let again: unknown = 1;
    for (let i = 0; i < 4000; i++) again = i % 2 ? [again] : { k: again };
    expect(canonicalJson(sanitize({ ...obj, data: again } as KubeObject, options))).toBe(canonicalJson(sanitized));
    expect(toYaml(sanitized)).toContain(TRUNCATED);
  });

  it('writes __proto__ keys as data', () => {
    const obj = JSON.parse('{"kind":"ConfigMap","data":{"__proto__":{"x":1}}}') as KubeObject;
    const back = parse(toYaml(obj)) as { data: object };
    expect(Object.getOwnPropertyDescriptor(back.data, '__proto__')?.value).toEqual({ x: 1 });
  });
});
