#!/usr/bin/env node
// claw-infer: WebClaw's command-line tool (Node.js + Dawn). The TypeScript
// sources are bundled into dist/cli.mjs by `npm install` (prepare); when a
// source file is newer than the bundle (a developer's checkout), it is
// rebuilt first so the CLI always runs the code in the tree.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bundle = path.join(root, 'dist/cli.mjs');

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

const stale = !existsSync(bundle) || Math.max(newestMtime(path.join(root, 'src')), newestMtime(path.join(root, 'shaders'))) > statSync(bundle).mtimeMs;
if (stale && existsSync(path.join(root, 'scripts/build-cli.mjs'))) {
  await import(pathToFileURL(path.join(root, 'scripts/build-cli.mjs')).href);
}
const { main } = await import(pathToFileURL(bundle).href);
// A reader that stops early (`| head -c 100`) closes the pipe: not an error of ours.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const status = await main(process.argv.slice(2));
process.exitCode = status;
// Dawn keeps handles open, so the process must exit explicitly, but only once
// stdout is drained: on a pipe the writes are asynchronous, and exiting at
// once would cut the output at the pipe's buffer (64 KiB).
await new Promise((resolve) => process.stdout.write('', resolve));
process.exit(status);
