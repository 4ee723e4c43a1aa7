// Bundles the Node.js CLI (src/cli/main.ts) into dist/cli.mjs so that
// `node bin/claw-infer.mjs` works right after `npm install` (run by `prepare`).
// WGSL files are imported with Vite's `?raw` suffix everywhere; the small
// plugin in raw-text-plugin.mjs gives esbuild the same meaning.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawTextPlugin } from './raw-text-plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const entry = path.join(root, 'src/cli/main.ts');
if (!existsSync(entry)) {
  console.log('build-cli: src/cli/main.ts not present yet; skipping');
  process.exit(0);
}

await build({
  entryPoints: [entry],
  outfile: path.join(root, 'dist/cli.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['webgpu', 'node-llama-cpp'],
  plugins: [rawTextPlugin],
  logLevel: 'warning',
});
