import { defineConfig } from 'vite';

// The page (index.html) and its Web Worker. WGSL files are imported with `?raw`.
export default defineConfig({
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist/web' },
  server: { port: 5173 },
});
