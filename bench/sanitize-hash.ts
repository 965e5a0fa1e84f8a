// Benchmark of the admission hot path: sanitizedContentHash of a realistic ~10 KB Deployment (what
// the webhook runs), against sanitize + contentHash (what the watch runs, the same hash) and the
// YAML serializer both avoid. Prints ops/s per case.
// Run: npx tsx bench/sanitize-hash.ts [seconds per case, default 2]

import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { canonicalJson, compileSanitizeOptions, contentHash, sanitize, sanitizedContentHash, toYaml } from '../src/sanitize/index.ts';
import { deploymentFixture } from '../src/sanitize/testing/fixtures.ts';

const seconds = Number(process.argv[2] ?? 2);
const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
const deployment = deploymentFixture();
const sanitized = sanitize(deployment, options);
// As the webhook gets it: parsed from JSON (strings and shapes differ from object literals).
const parsed = JSON.parse(JSON.stringify(deployment)) as typeof deployment;
if (sanitizedContentHash(parsed, options) !== contentHash(sanitize(parsed, options))) throw new Error('sanitizedContentHash disagrees with contentHash(sanitize())');

let sink = 0;
function measure(name: string, fn: () => string | object): void {
  const runFor = (ns: bigint): { ops: number; elapsed: bigint } => {
    const start = process.hrtime.bigint();
    let ops = 0;
    let elapsed = 0n;
    while (elapsed < ns) {
      for (let i = 0; i < 100; i++) {
        const r = fn();
        sink += typeof r === 'string' ? r.length : 1;
      }
      ops += 100;
      elapsed = process.hrtime.bigint() - start;
    }
    return { ops, elapsed };
  };
  runFor(300_000_000n); // warm-up: let the JIT settle
  const { ops, elapsed } = runFor(BigInt(Math.round(seconds * 1e9)));
  const perSec = (ops * 1e9) / Number(elapsed);
  const micros = Number(elapsed) / ops / 1000;
  console.log(`${name.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(10)} ops/s  ${micros.toFixed(1).padStart(7)} µs/op`);
}

console.log(`node ${process.version}; input ${JSON.stringify(deployment).length} bytes of JSON, sanitized ${canonicalJson(sanitized).length} bytes`);
measure('sanitizedContentHash (webhook hot path)', () => sanitizedContentHash(deployment, options));
measure('sanitizedContentHash of a parsed object', () => sanitizedContentHash(parsed, options));
measure('sanitize + contentHash (watch; same hash)', () => contentHash(sanitize(deployment, options)));
measure('sanitize + contentHash of a parsed object', () => contentHash(sanitize(parsed, options)));
measure('sanitize', () => sanitize(deployment, options));
measure('contentHash of a sanitized object', () => contentHash(sanitized));
measure('canonicalJson of a sanitized object', () => canonicalJson(sanitized));
const text = canonicalJson(sanitized);
measure('sha256 of the canonical text alone', () => createHash('sha256').update(text).digest('hex'));
measure('baseline: JSON.stringify + sha256 (unordered)', () => createHash('sha256').update(JSON.stringify(sanitized)).digest('hex'));
measure('sanitize + YAML.stringify + sha256', () => createHash('sha256').update(YAML.stringify(sanitize(deployment, options), { lineWidth: 0 })).digest('hex'));
measure('toYaml of a sanitized object (Git writer)', () => toYaml(sanitized));
if (sink === 0) console.log('');
