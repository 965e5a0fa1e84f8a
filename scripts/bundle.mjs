// Bundles `kubescribe run` (src/main.ts and everything it imports) into one ES module,
// dist/kubescribe.mjs, which the image and the local stack start, and the webhook's thread into
// dist/webhook-thread.mjs. One file loads in ~115 ms
// instead of ~360 ms for the ~600 modules it replaces (Node 20 has no compile cache), and start-up
// time counts: the start-up snapshot is measured from process start (docs/benchmarks.md §4).
// @kubernetes/client-node stays outside: it is imported only for exec/auth-provider kubeconfigs;
// so does ssh2 (native optional bindings; loaded only for an SSH remote).
//
// Whitespace and comments are left out (names are kept, so stack traces still name functions;
// `NODE_OPTIONS=--enable-source-maps` maps them to src/): V8 keeps a script's source in the heap,
// and the bundle's 6.1 MB, with a few non-Latin-1 characters in dependencies' comments, was held
// as a two-byte string of 11.7 MiB (a heap snapshot at 100,000 watched objects). The bundle must
// be ASCII for V8 to hold it in one byte a character: the one character esbuild leaves as it is
// (in a regular expression of isomorphic-git) is escaped on load, and the build fails if another
// one appears.
import { readFile } from 'node:fs/promises';
import { build } from 'esbuild';

/** Escapes non-ASCII characters in regular expression literals of these packages (\uXXXX means the same there). */
const asciiRegexps = {
  name: 'ascii-regexps',
  setup(b) {
    b.onLoad({ filter: /node_modules\/isomorphic-git\/.*\.c?js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`), loader: 'js' };
    });
  },
};

async function bundle(entry, outfile) {
  await build({ ...common, entryPoints: [entry], outfile });
  const text = await readFile(outfile, 'utf8');
  const at = text.search(/[\u0080-\uffff]/);
  if (at >= 0) throw new Error(`${outfile} holds a non-ASCII character (${JSON.stringify(text.slice(Math.max(0, at - 40), at + 10))}): V8 would keep the whole source as a two-byte string; escape it on load (scripts/bundle.mjs)`);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  sourcesContent: false, // the map points at src/ and node_modules/; embedding them costs ~25 MiB of RSS under --enable-source-maps
  legalComments: 'none',
  minifyWhitespace: true,
  plugins: [asciiRegexps],
  external: ['@kubernetes/client-node', 'ssh2'],
  // CommonJS dependencies (fastify, pino, prom-client) call require().
  banner: { js: "import { createRequire as __kubescribeRequire } from 'node:module'; const require = __kubescribeRequire(import.meta.url);" },
  logLevel: 'warning',
};

await bundle('src/main.ts', 'dist/kubescribe.mjs');
// The webhook's thread (src/admission/thread.ts starts it from beside the bundle).
await bundle('src/admission/webhook-thread.ts', 'dist/webhook-thread.mjs');
