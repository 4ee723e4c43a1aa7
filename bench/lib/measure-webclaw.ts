// One model through WebClaw in Node (Dawn), from a file: measure-engine.ts's
// figures, with the process's CPU time per token (JS, Dawn and SwiftShader's
// workers together).

import { openFileSource } from '../../src/gguf/source-node';
import type { ClawEngine, EngineOptions } from '../../src/engine/engine';
import type { LoadOptions } from '../../src/engine/types';
import { measureEngine, type DecodeWindow, type EngineFactory, type ModelFacts, type WebClawRun } from './measure-engine';

export async function measureWebClaw(
  create: EngineFactory,
  engineOptions: EngineOptions,
  file: string,
  facts: ModelFacts,
  prompt: string,
  window: DecodeWindow,
  ctxSize: number,
  load: LoadOptions = {},
  beforeUnload?: (engine: ClawEngine) => Promise<void>,
): Promise<WebClawRun> {
  const source = await openFileSource(file);
  try {
    return await measureEngine(create, engineOptions, source, facts, prompt, window, ctxSize, () => {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    }, load, beforeUnload);
  } finally {
    await source.close?.();
  }
}
