// Shared by the budget, streaming and KV-cache GPU tests: one engine per
// test file on the Dawn device, synthetic models as byte sources, greedy
// decoding, and the bytes a model's tensors take.

import { afterAll } from 'vitest';
import { ClawEngine, type EngineOptions } from '../../src/engine/engine';
import type { GenerateEvent, LoadOptions } from '../../src/engine/types';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel, type SyntheticModelOptions } from '../fixtures/synthetic-model';

const engines: ClawEngine[] = [];

afterAll(async () => {
  for (const e of engines.splice(0)) await e.destroy();
});

export async function testEngine(options: Omit<EngineOptions, 'gpu'> = {}): Promise<ClawEngine> {
  const engine = await ClawEngine.create({ gpu: getRuntimeGpu(), ...options });
  engines.push(engine);
  return engine;
}

export interface TestModel {
  source: BytesSource;
  /** Sum of the tensors' bytes in the file. */
  tensorBytes: number;
}

export async function syntheticSource(opts: SyntheticModelOptions): Promise<TestModel> {
  const bytes = makeSyntheticModel(opts);
  const file = await readGguf(new BytesSource(bytes));
  return { source: new BytesSource(bytes, 'synthetic.gguf'), tensorBytes: file.tensors.reduce((s, t) => s + t.byteSize, 0) };
}

export function bytesLimit(bytes: number): LoadOptions['vramLimit'] {
  return { bytes: Math.floor(bytes) };
}

export interface GreedyRun {
  prompt: number[];
  tokens: number[];
  warnings: string[];
}

/** Greedy decoding of a raw prompt: the prompt's ids, the generated ids and every warning. */
export async function greedy(engine: ClawEngine, prompt: string, maxTokens: number): Promise<GreedyRun> {
  const run: GreedyRun = { prompt: [], tokens: [], warnings: [] };
  for await (const e of engine.generate(prompt, { temperature: 0, maxTokens }) as AsyncGenerator<GenerateEvent>) {
    if (e.type === 'prompt') run.prompt = e.tokenIds;
    else if (e.type === 'token' && e.tokenId >= 0) run.tokens.push(e.tokenId);
    else if (e.type === 'warning') run.warnings.push(`${e.code}: ${e.message}`);
  }
  return run;
}

/** What a loaded model held is gone: no weight or KV bytes, and activations back to the kernels' own placeholder. */
export function modelBytesLeft(engine: ClawEngine, activationsBefore: number): number {
  const by = engine.allocator.liveBytesByPurpose();
  return by.weights + by.kv + (by.activations - activationsBefore);
}
