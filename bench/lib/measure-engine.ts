// One model through a WebClaw engine, wherever it runs (Node + Dawn, or a
// page in Chromium: nothing here imports node:): load MB/s, time to first
// token (the first request after load, so it pays for anything made
// lazily), prefill tok/s on a long prompt, and, at steady state between the
// FROM-th and TO-th streamed token, decode tok/s, CPU ms per token (where
// the runtime can tell) and the counters per token: what the CPU asks of
// the GPU (src/gpu/counters.ts) and the weight bytes the dispatches bind
// (weight-traffic.ts).

import type { ClawEngine, EngineOptions } from '../../src/engine/engine';
import type { GenerateOptions, LoadOptions } from '../../src/engine/types';
import type { ByteSource } from '../../src/gguf/types';
import { countGpuWork, zeroCounts, type GpuCounts } from '../../src/gpu/counters';
import { watchTokenCpu, zeroTokenCpu, type CpuClocks, type TokenCpu } from './token-cpu';
import { watchWeightTraffic } from './weight-traffic';

/** A peer's figures: decodeTokens counts the measured window (fewer than asked when the model stopped early); cpuMsPerToken is all threads' (0 where the runtime cannot tell, e.g. in a page). */
export interface PeerRun {
  loadMs: number;
  ttftMs: number;
  nPrompt: number;
  prefillTokS: number;
  decodeTokS: number;
  decodeTokens: number;
  cpuMsPerToken: number;
}

export interface DecodeWindow {
  /** First and last streamed token of the measured window (1-based). */
  from: number;
  to: number;
  /** Tokens asked past `to`, so the pipelined loop keeps submitting through the window. */
  tail: number;
  /**
   * Time to first token from the measured request itself (it is then the
   * first after load, with the long prompt), instead of a short request of
   * its own: on an emulator a 1B-shaped model's prefill takes minutes.
   */
  firstTokenOfMeasured?: boolean;
}

/** PeerRun plus WebClaw's own figures. */
export interface WebClawRun extends PeerRun {
  decodePass: boolean;
  loadMBs: number;
  perToken: GpuCounts & { dispatchesPerLayer: number; weightBytes: number };
  /** Weight bytes bound per token over the bytes a token must read (1.0: each weight byte once). */
  weightReadRatio: number;
  /** Where the wall and CPU time of a decoded token go (token-cpu.ts). */
  cpu: TokenCpu;
}

export interface ModelFacts {
  nLayers: number;
  nVocab: number;
  tokenWeightBytes: number;
}

export type EngineFactory = (options: EngineOptions) => Promise<ClawEngine>;

export async function measureEngine(
  create: EngineFactory,
  engineOptions: EngineOptions,
  source: ByteSource,
  facts: ModelFacts,
  prompt: string,
  window: DecodeWindow,
  ctxSize: number,
  clocks: CpuClocks,
  load: LoadOptions = {},
  /** Called with the engine after the measured request, before it unloads (e.g. to read GPU timestamps). */
  beforeUnload?: (engine: ClawEngine) => Promise<void>,
): Promise<WebClawRun> {
  const engine = await create(engineOptions);
  const traffic = watchWeightTraffic(engine.ctx.device, () => facts.nVocab);
  try {
    const t0 = performance.now();
    await engine.load(source, { ...load, ctxSize });
    const loadMs = performance.now() - t0;
    const decodePass = engine.usesDecodePass;

    // Time to first token: the first request after load, a short prompt.
    let ttftMs = 0;
    if (!window.firstTokenOfMeasured) {
      const t1 = performance.now();
      for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: 1 })) if (e.type === 'token' && !ttftMs) ttftMs = performance.now() - t1;
    }

    // The long prompt (a different start, so no cache is reused), then the decode window.
    const counter = countGpuWork(engine.ctx.device);
    const cpuWatch = watchTokenCpu(engine.ctx.device, clocks);
    let measured = zeroCounts();
    let cpu: TokenCpu = zeroTokenCpu();
    let tFrom = 0;
    let tTo = 0;
    let bytes = 0;
    let n = 0;
    let last = 0;
    let stats = null;
    const close = () => {
      measured = { ...counter.counts };
      tTo = performance.now();
      cpu = cpuWatch.read(Math.max(1, n - window.from), tTo);
      bytes = traffic.bytes();
      last = n;
    };
    const options: GenerateOptions = { temperature: 0, maxTokens: window.to + window.tail };
    const tRequest = performance.now();
    try {
      for await (const e of engine.generate(prompt, options)) {
        if (e.type === 'token' && e.tokenId >= 0) {
          n++;
          if (n === 1 && window.firstTokenOfMeasured) ttftMs = performance.now() - tRequest;
          if (n === window.from) {
            counter.reset();
            traffic.reset();
            tFrom = performance.now();
            cpuWatch.reset(tFrom);
          }
          if (n === window.to) close();
        }
        if (e.type === 'done') stats = e.stats;
      }
    } finally {
      cpuWatch.stop();
      counter.stop();
    }
    if (last === 0 && n > window.from) close();
    const k = Math.max(1, last - window.from);
    const perToken = { ...zeroCounts(), dispatchesPerLayer: 0, weightBytes: bytes / k };
    for (const key of Object.keys(measured) as (keyof GpuCounts)[]) perToken[key] = measured[key] / k;
    perToken.dispatchesPerLayer = perToken.dispatches / facts.nLayers;
    await beforeUnload?.(engine);
    await engine.unload();
    return {
      decodePass,
      loadMs,
      loadMBs: source.size / 2 ** 20 / (loadMs / 1000),
      ttftMs,
      nPrompt: stats ? stats.nPrompt - stats.nCached : 0,
      prefillTokS: stats?.prefillTokPerS ?? 0,
      decodeTokS: last > window.from ? ((last - window.from) * 1000) / (tTo - tFrom) : 0,
      decodeTokens: Math.max(0, last - window.from),
      cpuMsPerToken: cpu.processCpuMs ?? 0,
      perToken,
      weightReadRatio: perToken.weightBytes / facts.tokenWeightBytes,
      cpu,
    };
  } finally {
    traffic.stop();
    await engine.destroy();
  }
}

/** A prompt of about `n` tokens under `encode` (the words of a children's story, repeated). */
export function promptOfTokens(encode: (text: string) => number[], n: number): string {
  const words = 'the little dog saw a big red ball in the park and he was happy so he ran to play with his friend Lily'.split(' ');
  const text = (k: number) => Array.from({ length: k }, (_, i) => words[i % words.length]).join(' ');
  let lo = 1;
  let hi = 2 * n;
  while (encode(text(hi)).length < n) hi *= 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (encode(text(mid)).length < n) lo = mid + 1;
    else hi = mid;
  }
  return `The ${text(lo)}`;
}
