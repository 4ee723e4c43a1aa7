import { defineConfig, type Plugin } from 'vite';

/**
 * The Content Security Policy of the built site, as a <meta> tag so that any
 * static host serves it: scripts and workers only from the site itself
 * (no inline or remote script, no eval), images only local (a reply's
 * Markdown image cannot call out). connect-src names http(s) here only so
 * that a remote server the person saves can be allowed: the page narrows it
 * at start to its own origin plus that server's, if any (src/ui/csp.ts).
 * Not applied to the dev server, whose hot reload needs inline script and a
 * WebSocket.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' http: https:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'webclaw-csp',
    apply: 'build',
    transformIndexHtml: () => [{ tag: 'meta', attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY }, injectTo: 'head-prepend' }],
  };
}

// The page (index.html) and its Web Worker. WGSL files are imported with `?raw`.
export default defineConfig({
  plugins: [contentSecurityPolicy()],
  worker: { format: 'es' },
  build: { target: 'es2022', outDir: 'dist/web' },
  server: { port: 5173 },
  preview: { port: 5173 },
});
