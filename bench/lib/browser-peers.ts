// Peers in headless Chromium (Debian's /usr/bin/chromium through
// Playwright, --enable-unsafe-webgpu): wllama (@wllama/wllama, llama.cpp
// compiled to wasm, pinned in package.json), on the CPU (n_gpu_layers 0,
// 1 thread, like the llama.cpp peer), loading each model from a static
// server on 127.0.0.1. A model it cannot run is reported with the error
// the page saw, never left out silently.

import { createReadStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { PeerRun } from './llamacpp';

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

function serve(models: BrowserModel[]) {
  const byName = new Map(models.map((m, i) => [`/model/${i}.gguf`, m.file]));
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    let file: string | undefined;
    if (url === '/' || url === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(PAGE);
      return;
    }
    if (url.startsWith('/wllama/')) file = path.join(WLLAMA, path.normalize(url.slice('/wllama/'.length)).replace(/^(\.\.[/\\])+/, ''));
    else file = byName.get(url);
    if (!file) {
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

/** Runs wllama on every model; results (or the error the page saw) by model label. */
export async function runWasmPeers(models: BrowserModel[], log: (line: string) => void): Promise<Map<string, BrowserResult>> {
  const out = new Map<string, BrowserResult>();
  const { chromium } = await import('@playwright/test');
  const server = await serve(models);
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--enable-unsafe-webgpu', '--no-sandbox'] });
  try {
    for (const [i, m] of models.entries()) {
      let result: BrowserResult;
      {
        log(`${m.label}: wllama in Chromium`);
        const page = await browser.newPage();
        page.setDefaultTimeout(PAGE_TIMEOUT_MS);
        try {
          await page.goto(`${server.base}/`);
          await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
          const r = await page.evaluate(
            ([url, prompt, n, ctx]) => (window as unknown as { runWllama: (...a: unknown[]) => Promise<Record<string, number>> }).runWllama(url, prompt, n, ctx),
            [`${server.base}/model/${i}.gguf`, m.prompt, m.nDecode, m.ctxSize] as const,
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
        } finally {
          await page.close();
        }
      }
      out.set(m.label, result);
    }
  } finally {
    await browser.close();
    server.close();
  }
  return out;
}
