// One model through WebClaw in Node (Dawn), from a file: measure-engine.ts's
// figures, with the CPU clocks Node has: the process's (JS, Dawn and the
// driver's or SwiftShader's workers together), the main thread's (Linux)
// and Dawn's event polling (dawn-poll.ts).

import { openFileSource } from '../../src/gguf/source-node';
import type { ClawEngine, EngineOptions } from '../../src/engine/engine';
import type { LoadOptions } from '../../src/engine/types';
import { watchDawnPolling } from './dawn-poll';
import { measureEngine, type DecodeWindow, type EngineFactory, type ModelFacts, type WebClawRun } from './measure-engine';
import { mainThreadCpuMs, processCpuMs } from './thread-cpu';

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
  const polling = watchDawnPolling();
  try {
    return await measureEngine(create, engineOptions, source, facts, prompt, window, ctxSize, { process: processCpuMs, mainThread: mainThreadCpuMs, polling }, load, beforeUnload);
  } finally {
    polling.stop();
    await source.close?.();
  }
}
