// Bundles the Node.js CLI (src/cli/main.ts) into dist/cli.mjs so that
// `node bin/claw-infer.mjs` works right after `npm install` (run by `prepare`).
// WGSL files are imported with Vite's `?raw` suffix everywhere; the small
// plugin below gives esbuild the same meaning.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src/cli/main.ts');
if (!existsSync(entry)) {
  console.log('build-cli: src/cli/main.ts not present yet; skipping');
  process.exit(0);
}

const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, (args) => ({
      path: path.resolve(args.resolveDir, args.path.replace(/\?raw$/, '')),
      namespace: 'raw-text',
    }));
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => ({
      contents: await readFile(args.path, 'utf8'),
      loader: 'text',
      watchFiles: [args.path],
    }));
  },
};

await build({
  entryPoints: [entry],
  outfile: path.join(root, 'dist/cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu', 'node-llama-cpp'],
  plugins: [rawText],
  logLevel: 'warning',
});
