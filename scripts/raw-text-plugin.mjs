// esbuild plugin: `import text from './x.wgsl?raw'` yields the file's text,
// the meaning Vite gives the `?raw` suffix (used by build-cli.mjs and
// deno-run.mjs; bench/raw-text-hooks.mjs does the same for Node's loader).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const rawTextPlugin = {
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
