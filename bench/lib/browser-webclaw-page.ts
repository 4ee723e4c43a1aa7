// The page side of WebClaw's browser benchmark (bundled by
// browser-webclaw.ts at bench time): the engine on the page's own WebGPU
// (navigator.gpu), the model fetched from the bench server into a Blob, and
// the same measurement as the Node run (measure-engine.ts). Pages have no
// CPU clock, so cpuMsPerToken is 0 (shown as '-'), and of the per-token CPU
// breakdown only the timed WebGPU calls are there.

import { ClawEngine } from '../../src/engine/engine';
import { BlobSource } from '../../src/gguf/source';
import { measureEngine, type DecodeWindow, type ModelFacts, type WebClawRun } from './measure-engine';

async function runWebClaw(url: string, facts: ModelFacts, prompt: string, window: DecodeWindow, ctxSize: number): Promise<WebClawRun & { adapter: string }> {
  const blob = await (await fetch(url)).blob();
  let adapter = '';
  const run = await measureEngine(
    async (o) => {
      const engine = await ClawEngine.create({ ...o });
      adapter = engine.adapterDescription;
      return engine;
    },
    {},
    new BlobSource(blob, url),
    facts,
    prompt,
    window,
    ctxSize,
    { process: null, mainThread: null, polling: null },
  );
  return { ...run, adapter };
}

Object.assign(globalThis, { runWebClaw, webclawReady: true });
