// WGSL files are imported with Vite's `?raw` suffix everywhere; this esbuild
// plugin gives them the same meaning (the file's text as a string), so the
// CLI and library bundles carry their shaders inline and need no plugin at
// the user's end.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const rawText = {
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
