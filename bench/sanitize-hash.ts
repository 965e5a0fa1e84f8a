// Benchmark of the admission hot path: sanitize + contentHash of a realistic ~10 KB Deployment,
// against the YAML serializer it avoids. Prints ops/s per case.
// Run: npx tsx bench/sanitize-hash.ts [seconds per case, default 2]

import { createHash } from 'node:crypto';
import YAML from 'yaml';
import { canonicalJson, compileSanitizeOptions, contentHash, sanitize, toYaml } from '../src/sanitize/index.ts';
import { deploymentFixture } from '../src/sanitize/testing/fixtures.ts';

const seconds = Number(process.argv[2] ?? 2);
const options = compileSanitizeOptions({ secretKey: Buffer.alloc(32, 1) });
const deployment = deploymentFixture();
const sanitized = sanitize(deployment, options);

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
measure('sanitize + contentHash (hot path)', () => contentHash(sanitize(deployment, options)));
measure('sanitize', () => sanitize(deployment, options));
measure('contentHash of a sanitized object', () => contentHash(sanitized));
measure('canonicalJson of a sanitized object', () => canonicalJson(sanitized));
const text = canonicalJson(sanitized);
measure('sha256 of the canonical text alone', () => createHash('sha256').update(text).digest('hex'));
measure('baseline: JSON.stringify + sha256 (unordered)', () => createHash('sha256').update(JSON.stringify(sanitized)).digest('hex'));
measure('sanitize + YAML.stringify + sha256', () => createHash('sha256').update(YAML.stringify(sanitize(deployment, options), { lineWidth: 0 })).digest('hex'));
measure('toYaml of a sanitized object (Git writer)', () => toYaml(sanitized));
if (sink === 0) console.log('');
