// WebClaw's own figures in headless Chromium (--enable-unsafe-webgpu, the
// browser's WebGPU: SwiftShader here): browser-webclaw-page.ts bundled with
// esbuild (WGSL inlined, as the library build does), served next to the
// models by browser-peers.ts's server, and run once per model. A model the
// page cannot run is reported with the error it saw.

import path from 'node:path';
import { bundlePage, withChromium, type BrowserModel } from './browser-peers';
import type { DecodeWindow, ModelFacts, WebClawRun } from './measure-engine';

export interface WebClawBrowserModel extends BrowserModel {
  facts: ModelFacts;
  window: DecodeWindow;
}

export type WebClawBrowserResult = (WebClawRun & { adapter: string }) | { error: string };

const PAGE = `<!doctype html><meta charset="utf-8"><title>WebClaw bench</title>
<script type="module" src="/webclaw/bench.js"></script>`;

/** Runs WebClaw in the page on every model; results (or the error the page saw) by model label. */
export async function runWebClawInBrowser(models: WebClawBrowserModel[], log: (line: string) => void): Promise<Map<string, WebClawBrowserResult>> {
  const script = await bundlePage(path.resolve(import.meta.dirname, 'browser-webclaw-page.ts'));
  const out = new Map<string, WebClawBrowserResult>();
  await withChromium(models, { '/webclaw/': { type: 'text/html', body: PAGE }, '/webclaw/bench.js': { type: 'text/javascript', body: script } }, async (open, modelUrl) => {
    for (const [i, m] of models.entries()) {
      log(`${m.label}: WebClaw in Chromium`);
      let result: WebClawBrowserResult;
      try {
        result = await open('/webclaw/', 'webclawReady', (page) =>
          page.evaluate(
            ([url, facts, prompt, window, ctx]) =>
              (globalThis as unknown as { runWebClaw: (...a: unknown[]) => Promise<WebClawRun & { adapter: string }> }).runWebClaw(url, facts, prompt, window, ctx),
            [modelUrl(i), m.facts, m.prompt, m.window, m.ctxSize] as const,
          ),
        );
      } catch (e) {
        const error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
        result = { error };
        log(`${m.label}: WebClaw in Chromium failed: ${error}`);
      }
      out.set(m.label, result);
    }
  });
  return out;
}
