import { compileSanitizeOptions, sanitize, canonicalJson } from '../src/sanitize/index.ts';
import { compareCodePoints } from '../src/sanitize/canonical-order.ts';
import { deploymentFixture } from '../src/sanitize/testing/fixtures.ts';
const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
const s = sanitize(deploymentFixture(), options);
function t(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const n = 50000; const st = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(name.padEnd(30), ((performance.now() - st) * 1000 / n).toFixed(2), 'µs'); }
const objs: object[] = [];
(function walk(v: unknown) { if (Array.isArray(v)) v.forEach(walk); else if (v && typeof v === 'object') { objs.push(v); for (const x of Object.values(v)) walk(x); } })(s);

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;
const keyCache = new Map<string, string>();
function quoteKey(k: string): string { let q = keyCache.get(k); if (q === undefined) { q = NEEDS_ESCAPE.test(k) ? JSON.stringify(k) : '"' + k + '"'; if (keyCache.size >= 4096) keyCache.clear(); keyCache.set(k, q); } return q; }
function quote(x: string): string { return NEEDS_ESCAPE.test(x) ? JSON.stringify(x) : '"' + x + '"'; }
function sortKeys(keys: string[]): string[] {
  const n = keys.length;
  for (let i = 1; i < n; i++) if (compareCodePoints(keys[i - 1]!, keys[i]!) > 0) { keys.sort(compareCodePoints); break; }
  return keys;
}
function w(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string': return quote(v);
    case 'number': return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean': return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) { let o = '['; for (let i = 0; i < v.length; i++) { if (i > 0) o += ','; o += w(v[i]) ?? 'null'; } return o + ']'; }
      const r = v as Record<string, unknown>;
      const keys = sortKeys(Object.keys(v));
      let o = '{'; let first = true;
      for (let i = 0; i < keys.length; i++) { const k = keys[i]!; const x = w(r[k]); if (x === undefined) continue; if (first) first = false; else o += ','; o += quoteKey(k) + ':' + x; }
      return o + '}';
    }
    default: return undefined;
  }
}
function w2(v: unknown): string | undefined { // array accumulate
  const parts: string[] = []; acc(v, parts); return parts.join('');
}
function acc(v: unknown, out: string[]): void {
  switch (typeof v) {
    case 'string': out.push(quote(v)); return;
    case 'number': out.push(Number.isFinite(v) ? String(v) : 'null'); return;
    case 'boolean': out.push(v ? 'true' : 'false'); return;
    case 'object': {
      if (v === null) { out.push('null'); return; }
      if (Array.isArray(v)) { out.push('['); for (let i = 0; i < v.length; i++) { if (i > 0) out.push(','); acc(v[i], out); } out.push(']'); return; }
      const r = v as Record<string, unknown>;
      const keys = sortKeys(Object.keys(v));
      out.push('{');
      for (let i = 0; i < keys.length; i++) { const k = keys[i]!; if (i > 0) out.push(','); out.push(quoteKey(k), ':'); acc(r[k], out); }
      out.push('}'); return;
    }
  }
}
console.log(w(s) === canonicalJson(s).replace(/.*/, (x)=>x) ? 'same' : 'differs (priority order)');
t('canonicalJson', () => canonicalJson(s));
t('optimized w', () => w(s));
t('array-join w2', () => w2(s));
t('JSON.stringify', () => JSON.stringify(s));
t('sortKeys all', () => { let n = 0; for (const o of objs) n += sortKeys(Object.keys(o)).length; return n; });
t('keys.sort(cmp) all', () => { let n = 0; for (const o of objs) n += Object.keys(o).sort(compareCodePoints).length; return n; });
t('keys.sort() all', () => { let n = 0; for (const o of objs) n += Object.keys(o).sort().length; return n; });
function insertionSort(keys: string[]): string[] {
  const n = keys.length;
  if (n > 24) return keys.sort(compareCodePoints);
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (compareCodePoints(keys[j]!, k) <= 0) continue;
    do { keys[j + 1] = keys[j]!; j--; } while (j >= 0 && compareCodePoints(keys[j]!, k) > 0);
    keys[j + 1] = k;
  }
  return keys;
}
function cmpFast(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i); let y = b.charCodeAt(i);
    if (x !== y) { if (x >= 0xd800 && y >= 0xd800) { x = x >= 0xe000 ? x - 0x800 : x + 0x2000; y = y >= 0xe000 ? y - 0x800 : y + 0x2000; } return x - y; }
  }
  return a.length - b.length;
}
function insertionSort2(keys: string[]): string[] {
  const n = keys.length;
  if (n > 24) return keys.sort(cmpFast);
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    let j = i - 1;
    if (cmpFast(keys[j]!, k) <= 0) continue;
    do { keys[j + 1] = keys[j]!; j--; } while (j >= 0 && cmpFast(keys[j]!, k) > 0);
    keys[j + 1] = k;
  }
  return keys;
}
t('insertionSort all', () => { let n = 0; for (const o of objs) n += insertionSort(Object.keys(o)).length; return n; });
t('insertionSort2 all', () => { let n = 0; for (const o of objs) n += insertionSort2(Object.keys(o)).length; return n; });
t('Object.keys all', () => { let n = 0; for (const o of objs) n += Object.keys(o).length; return n; });
t('sortKeys all', () => { let n = 0; for (const o of objs) n += sortKeys(Object.keys(o)).length; return n; });
