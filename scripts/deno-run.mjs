// Runs a TypeScript entry (a benchmark) under Deno's WebGPU (wgpu): bundles it
// with esbuild (the `?raw` WGSL imports need it) into dist/deno/, then runs
// `deno run -A --unstable-webgpu` on the bundle, on lavapipe unless
// VK_ICD_FILENAMES (or CLAW_USE_SYSTEM_VULKAN=1) says otherwise, as
// scripts/test-wgpu.sh does for the tests.
//   node scripts/deno-run.mjs bench/dtype.ts [args...]
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawText } from './raw-text-plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: node scripts/deno-run.mjs FILE.ts [args...]');
  process.exit(2);
}
const outfile = path.join(root, 'dist/deno', `${path.basename(entry).replace(/\.[cm]?[jt]s$/, '')}.mjs`);
await build({
  entryPoints: [path.resolve(entry)],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'es2022',
  external: ['webgpu', 'node-llama-cpp'],
  plugins: [rawText],
  logLevel: 'warning',
});

const env = { ...process.env };
const lavapipe = `/usr/share/vulkan/icd.d/lvp_icd.${os.arch() === 'x64' ? 'x86_64' : os.arch()}.json`;
if (!env.VK_ICD_FILENAMES && !env.CLAW_USE_SYSTEM_VULKAN && existsSync(lavapipe)) env.VK_ICD_FILENAMES = lavapipe;
env.XDG_RUNTIME_DIR ??= mkdtempSync(path.join(os.tmpdir(), 'webclaw-xdg-'));
const r = spawnSync('npx', ['deno', 'run', '-A', '--unstable-webgpu', outfile, ...args], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
