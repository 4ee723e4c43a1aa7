// Headless Chromium for the benchmarks (Debian's /usr/bin/chromium through
// Playwright, --enable-unsafe-webgpu; withChromium, also used by
// browser-webclaw.ts), and the peer that runs there: wllama (@wllama/wllama, llama.cpp
// compiled to wasm, pinned in package.json), on the CPU (n_gpu_layers 0,
// 1 thread, like the llama.cpp peer), loading each model from a static
// server on 127.0.0.1. A model it cannot run is reported with the error
// the page saw, never left out silently.

import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { build } from 'esbuild';
import { rawText } from '../../scripts/raw-text-plugin.mjs';
import type { PeerRun } from './measure-engine';

export interface BrowserModel {
  label: string;
  file: string;
  prompt: string;
  nDecode: number;
  ctxSize: number;
}

export type BrowserResult = PeerRun | { error: string };

const WLLAMA = path.resolve(import.meta.dirname, '../../node_modules/@wllama/wllama/esm');
const PAGE_TIMEOUT_MS = Number(process.env.BENCH_BROWSER_TIMEOUT_MS ?? 600_000);

const PAGE = `<!doctype html><meta charset="utf-8"><title>wllama bench</title>
<script type="module">
import { Wllama } from '/wllama/index.js';
window.runWllama = async (url, prompt, nDecode, nCtx) => {
  const w = new Wllama({ default: '/wllama/wasm/wllama.wasm', 'single-thread/wllama.wasm': '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true });
  if (typeof w.setCompat === 'function') w.setCompat(null);
  const t0 = performance.now();
  await w.loadModelFromUrl(url, { n_threads: 1, n_ctx: nCtx, n_gpu_layers: 0 });
  const loadMs = performance.now() - t0;
  const t1 = performance.now();
  let tFirst = 0, n = 0;
  await w.createCompletion({ prompt, max_tokens: nDecode + 1, temperature: 0, stream: true, onData: () => { if (n++ === 0) tFirst = performance.now(); } });
  const t2 = performance.now();
  await w.exit();
  return { loadMs, ttftMs: tFirst - t1, decodeTokens: n - 1, decodeMs: t2 - tFirst, multithread: false };
};
window.ready = true;
</script>`;

/** A page script bundled for Chromium with esbuild (the WGSL inlined, as the library build does). */
export async function bundlePage(entry: string): Promise<string> {
  const result = await build({ entryPoints: [entry], bundle: true, format: 'esm', target: 'es2022', platform: 'browser', plugins: [rawText], write: false, logLevel: 'warning' });
  return result.outputFiles[0].text;
}

/** Extra routes of the bench server: a path and the text it answers with. */
export type Routes = Record<string, { type: string; body: string }>;

function serve(models: BrowserModel[], routes: Routes) {
  const byName = new Map(models.map((m, i) => [`/model/${i}.gguf`, m.file]));
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    let file: string | undefined;
    const route = url === '/' || url === '/index.html' ? { type: 'text/html', body: PAGE } : routes[url];
    if (route) {
      res.writeHead(200, { 'content-type': route.type });
      res.end(route.body);
      return;
    }
    if (url.startsWith('/wllama/')) file = path.join(WLLAMA, path.normalize(url.slice('/wllama/'.length)).replace(/^(\.\.[/\\])+/, ''));
    else file = byName.get(url);
    // A missing file is the page's error (a 404), not an exception that ends the benchmark.
    if (!file || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type, 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  return new Promise<{ base: string; close: () => void }>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() })),
  );
}

/** Opens a fresh page at `route`, waits for globalThis[ready], runs `work` on it and closes it. */
export type OpenPage = <T>(route: string, ready: string, work: (page: Page) => Promise<T>) => Promise<T>;

/** Serves the models (at modelUrl(i)) and `routes`, launches headless Chromium with WebGPU, and runs `body`. */
export async function withChromium(models: BrowserModel[], routes: Routes, body: (open: OpenPage, modelUrl: (i: number) => string) => Promise<void>): Promise<void> {
  const { chromium } = await import('@playwright/test');
  const server = await serve(models, routes);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  const open: OpenPage = async (route, ready, work) => {
    const page = await browser.newPage();
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    try {
      await page.goto(`${server.base}${route}`);
      await page.waitForFunction((name) => (globalThis as unknown as Record<string, unknown>)[name] === true, ready);
      return await work(page);
    } finally {
      await page.close();
    }
  };
  try {
    await body(open, (i) => `${server.base}/model/${i}.gguf`);
  } finally {
    await browser.close();
    server.close();
  }
}

/** Runs wllama on every model; results (or the error the page saw) by model label. */
export async function runWasmPeers(models: BrowserModel[], log: (line: string) => void): Promise<Map<string, BrowserResult>> {
  const out = new Map<string, BrowserResult>();
  await withChromium(models, {}, async (open, modelUrl) => {
    for (const [i, m] of models.entries()) {
      log(`${m.label}: wllama in Chromium`);
      let result: BrowserResult;
      try {
        const r = await open('/', 'ready', (page) =>
          page.evaluate(
            ([url, prompt, n, ctx]) => (window as unknown as { runWllama: (...a: unknown[]) => Promise<Record<string, number>> }).runWllama(url, prompt, n, ctx),
            [modelUrl(i), m.prompt, m.nDecode, m.ctxSize] as const,
          ),
        );
        result = {
          loadMs: r.loadMs,
          ttftMs: r.ttftMs,
          nPrompt: 0,
          prefillTokS: 0,
          decodeTokS: (r.decodeTokens * 1000) / r.decodeMs,
          decodeTokens: r.decodeTokens,
          cpuMsPerToken: 0,
        };
      } catch (e) {
        const error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        result = { error };
        log(`${m.label}: wllama failed: ${error}`);
      }
      out.set(m.label, result);
    }
  });
  return out;
}
