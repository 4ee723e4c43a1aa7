// Builds the `webclaw` library (npm pack runs it through `prepack`):
//   dist/lib/browser.mjs  src/index.ts, for browsers and bundlers (no node: imports)
//   dist/lib/node.mjs     src/index-node.ts, for Node.js (Dawn through the optional `webgpu` peer)
//   dist/lib/types/       declarations emitted by tsc (tsconfig.lib.json)
// The WGSL shaders are inlined; runtime dependencies stay imports.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rawText } from './raw-text-plugin.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const out = path.join(root, 'dist/lib');
rmSync(out, { recursive: true, force: true });

const common = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, external, plugins: [rawText], logLevel: 'warning' };
await build({ ...common, entryPoints: [path.join(root, 'src/index.ts')], outfile: path.join(out, 'browser.mjs'), platform: 'browser' });
await build({ ...common, entryPoints: [path.join(root, 'src/index-node.ts')], outfile: path.join(out, 'node.mjs'), platform: 'node', target: 'node20' });

execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.lib.json')], { stdio: 'inherit' });

// tsc writes relative imports as they are in the sources (no extension);
// Node's ESM resolution (TypeScript's node16/nodenext) wants the file named.
function addExtensions(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) addExtensions(file);
    else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(file, 'utf8').replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*)(['"])/g, (whole, head, spec, tail) => {
        const target = path.resolve(path.dirname(file), spec);
        if (existsSync(`${target}.d.ts`)) return `${head}${spec}.js${tail}`;
        if (existsSync(path.join(target, 'index.d.ts'))) return `${head}${spec}/index.js${tail}`;
        return whole;
      });
      writeFileSync(file, text);
    }
  }
}
addExtensions(path.join(out, 'types'));
