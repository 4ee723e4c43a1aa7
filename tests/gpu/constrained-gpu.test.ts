// Constrained decoding sampled on the GPU (the grammar's token bitmask
// uploaded and applied inside the GPU sampler, one draw in flight) against
// the CPU route (logits read back, masked and drawn by the CPU sampler):
// the same tokens for a seeded sampled and a greedy request (both samplers
// follow one random stream), outputs that validate, and what a token moves
// between CPU and GPU on each route, counted by wrapping the WebGPU objects.

import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { countGpuWork, zeroCounts, type GpuCounts } from '../../src/gpu/counters';
import { maskWords } from '../../src/gpu/gpu-sampler';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const N_VOCAB = 512;
const model = makeSyntheticModel({ nEmbd: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, nFf: 64, nVocab: N_VOCAB, ctxLength: 256, type: GgmlType.F32, seed: 11 });

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 3 },
    ok: { type: 'boolean' },
    tags: { type: 'array', items: { enum: ['x', 'y'] }, minItems: 1, maxItems: 2 },
  },
  required: ['name', 'tags'],
};
const JSON_FORMAT: GenerateOptions['responseFormat'] = { type: 'json_schema', json_schema: { schema: SCHEMA } };
/** Never ends by itself within the test's tokens: the per-token counts see a steady state. */
const LONG_FORMAT: GenerateOptions['responseFormat'] = { type: 'grammar', grammar: 'root ::= [a-z ]{60}' };

async function run(engine: ClawEngine, options: GenerateOptions, onToken?: (n: number) => void) {
  const tokens: number[] = [];
  let text = '';
  let reason = '';
  for await (const e of engine.generate('Once upon a time', options) as AsyncIterable<GenerateEvent>) {
    if (e.type === 'token' && e.tokenId >= 0) {
      tokens.push(e.tokenId);
      onToken?.(tokens.length);
    }
    if (e.type === 'token') text += e.text;
    if (e.type === 'done') reason = e.reason;
  }
  return { tokens, text, reason };
}

/** Counts per token between the FROM-th and TO-th streamed token. */
async function perToken(engine: ClawEngine, options: GenerateOptions): Promise<GpuCounts> {
  const FROM = 3;
  const TO = 13;
  const counter = countGpuWork(engine.ctx.device);
  let measured = zeroCounts();
  try {
    const r = await run(engine, { ...options, maxTokens: TO + 2 }, (n) => {
      if (n === FROM) counter.reset();
      if (n === TO) measured = { ...counter.counts };
    });
    expect(r.tokens.length).toBe(TO + 2);
  } finally {
    counter.stop();
  }
  const out = zeroCounts();
  for (const k of Object.keys(out) as (keyof GpuCounts)[]) out[k] = measured[k] / (TO - FROM);
  return out;
}

describe('constrained decoding with the mask on the GPU sampler', () => {
  let gpu: ClawEngine;
  let cpu: ClawEngine;
  beforeAll(async () => {
    gpu = await ClawEngine.create({ gpu: getRuntimeGpu() });
    cpu = await ClawEngine.create({ gpu: getRuntimeGpu(), decodePass: false });
    await gpu.load(new BytesSource(model, 'm.gguf'), { ctxSize: 256 });
    await cpu.load(new BytesSource(model, 'm.gguf'), { ctxSize: 256 });
  });
  afterAll(async () => {
    await gpu?.destroy();
    await cpu?.destroy();
  });

  it('gives the CPU route tokens for a seeded sampled and a greedy request, and the outputs validate', { timeout: 300_000 }, async () => {
    expect(gpu.usesDecodePass).toBe(true);
    expect(cpu.usesDecodePass).toBe(false);
    const validate = new Ajv().compile(SCHEMA);
    const cases: GenerateOptions[] = [
      { temperature: 0.9, topK: 40, topP: 0.95, minP: 0.02, seed: 3, maxTokens: 100, responseFormat: JSON_FORMAT },
      { temperature: 0, maxTokens: 100, responseFormat: JSON_FORMAT },
    ];
    for (const options of cases) {
      const a = await run(gpu, options);
      const b = await run(cpu, options);
      expect(a.tokens.length).toBeGreaterThan(3);
      expect(a.tokens).toEqual(b.tokens);
      expect(a.reason, a.text).toBe('stop');
      expect(b.reason).toBe('stop');
      expect(validate(JSON.parse(a.text)), a.text).toBe(true);
    }
  });

  it('moves 4 bytes back and nVocab / 8 bytes up per token on the GPU route, nVocab * 4 bytes back on the CPU route', { timeout: 300_000 }, async () => {
    const options: GenerateOptions = { temperature: 0.8, seed: 9, responseFormat: LONG_FORMAT };
    const onGpu = await perToken(gpu, options);
    const plain = await perToken(gpu, { temperature: 0.8, seed: 9 });
    const onCpu = await perToken(cpu, options);
    expect(onGpu.bytesReadBack).toBe(4);
    expect(onGpu.maps).toBe(1);
    expect(onGpu.submits).toBe(1);
    expect(onGpu.bindGroups).toBe(0);
    expect(onGpu.buffers).toBe(0);
    // One write more than unconstrained GPU sampling: the mask, ceil(nVocab / 32) words.
    expect(onGpu.writeBuffers).toBe(plain.writeBuffers + 1);
    expect(onGpu.bytesWritten - plain.bytesWritten).toBe(maskWords(N_VOCAB) * 4);
    expect(onCpu.bytesReadBack).toBe(N_VOCAB * 4);
  });
});
