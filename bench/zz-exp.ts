import { compileSanitizeOptions, sanitize, canonicalJson } from '../src/sanitize/index.ts';
import { canonicalKeys, Level } from '../src/sanitize/canonical-order.ts';
import { deploymentFixture } from '../src/sanitize/testing/fixtures.ts';
const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
const s = sanitize(deploymentFixture(), options);
function t(name: string, fn: () => unknown) { for (let i = 0; i < 20000; i++) fn(); const n = 50000; const st = performance.now(); for (let i = 0; i < n; i++) fn(); console.log(name, ((performance.now() - st) * 1000 / n).toFixed(2), 'µs'); }
const objs: object[] = []; const strs: string[] = []; const keys: string[] = [];
(function walk(v: unknown) { if (typeof v === 'string') strs.push(v); else if (Array.isArray(v)) v.forEach(walk); else if (v && typeof v === 'object') { objs.push(v); for (const [k, x] of Object.entries(v)) { keys.push(k); walk(x); } } })(s);
console.log('objects', objs.length, 'strings', strs.length, 'keys', keys.length);
t('canonicalJson', () => canonicalJson(s));
t('JSON.stringify', () => JSON.stringify(s));
t('canonicalKeys all', () => { let n = 0; for (const o of objs) n += canonicalKeys(o, Level.Nested).length; return n; });
t('Object.keys+sort() all', () => { let n = 0; for (const o of objs) n += Object.keys(o).sort().length; return n; });
t('Object.keys all', () => { let n = 0; for (const o of objs) n += Object.keys(o).length; return n; });
t('JSON.stringify strings', () => { let n = 0; for (const x of strs) n += JSON.stringify(x).length; for (const x of keys) n += JSON.stringify(x).length; return n; });
const re = /["\\\u0000-\u001f\ud800-\udfff]/;
t('regex-quote strings', () => { let n = 0; for (const x of strs) n += (re.test(x) ? JSON.stringify(x) : '"' + x + '"').length; for (const x of keys) n += (re.test(x) ? JSON.stringify(x) : '"' + x + '"').length; return n; });
