// Constrained decoding through the real engine on the GPU: a random-weights
// synthetic llama (its SPM vocabulary writes braces and brackets only through
// byte-fallback tokens), so only the grammar can make the output valid. The
// bulk of the checks (100 generations per schema and grammar, three real
// vocabularies) is on the CPU side, tests/unit/structured/. Constrained
// requests sample on the GPU (the grammar's bitmask applied in the GPU
// sampler); with logprobs they take the CPU route (logits read back, masked
// and drawn by the CPU sampler, the same random stream): both are checked
// against each other, with what a token moves between CPU and GPU.

import Ajv from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, GenerateOptions } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { countGpuWork, zeroCounts, type GpuCounts } from '../../src/gpu/counters';
import { maskWords } from '../../src/gpu/gpu-sampler';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

const model = makeSyntheticModel({ nEmbd: 32, nLayers: 1, nHeads: 2, nKvHeads: 1, nFf: 64, ctxLength: 256, type: GgmlType.F32, seed: 11 });

const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 3 },
    ok: { type: 'boolean' },
    tags: { type: 'array', items: { enum: ['x', 'y'] }, minItems: 1, maxItems: 2 },
  },
  required: ['name', 'tags'],
};

async function run(engine: ClawEngine, options: GenerateOptions, onToken?: (n: number) => void): Promise<{ text: string; reason: string; n: number; ids: number[] }> {
  let text = '';
  let reason = '';
  let n = 0;
  const ids: number[] = [];
  for await (const e of engine.generate('Once upon a time', options) as AsyncIterable<GenerateEvent>) {
    if (e.type === 'token') text += e.text;
    if (e.type === 'token' && e.tokenId >= 0) {
      ids.push(e.tokenId);
      onToken?.(ids.length);
    }
    if (e.type === 'done') [reason, n] = [e.reason, e.stats.nGenerated];
  }
  return { text, reason, n, ids };
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
    expect(r.ids.length).toBe(TO + 2);
  } finally {
    counter.stop();
  }
  const out = zeroCounts();
  for (const k of Object.keys(out) as (keyof GpuCounts)[]) out[k] = measured[k] / (TO - FROM);
  return out;
}

describe('constrained decoding in the engine (synthetic random-weights llama)', () => {
  let engine: ClawEngine;
  beforeAll(async () => {
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    await engine.load(new BytesSource(model, 'synthetic.gguf'), { ctxSize: 256 });
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  it('malformed grammars and schemas are clw-bad-request with the reason (the engine goes on: the tests below)', async () => {
    const bad: [GenerateOptions['responseFormat'], RegExp][] = [
      [{ type: 'grammar', grammar: 'root ::= "a' }, /unterminated string/],
      [{ type: 'grammar', grammar: 'root ::= missing' }, /"missing" is used but never defined/],
      [{ type: 'grammar', grammar: 'root ::= root "a" | "b"' }, /left-recursive/],
      [{ type: 'json_schema', json_schema: { schema: { type: 'integer', minimum: 3 } } }, /"minimum"/],
      [{ type: 'json_schema', json_schema: { schema: { type: 'string', pattern: '(?=a)b' } } }, /lookarounds/],
      [{ type: 'xml' } as unknown as GenerateOptions['responseFormat'], /unknown response format type "xml"/],
    ];
    for (const [responseFormat, message] of bad) {
      const e = await run(engine, { maxTokens: 4, responseFormat }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ClawError);
      expect((e as ClawError).code).toBe('clw-bad-request');
      expect((e as ClawError).message).toMatch(message);
    }
  });

  it('seeded and greedy generations under a JSON Schema end by themselves and validate, with the same tokens on the GPU route as on the CPU route', async () => {
    expect(engine.usesDecodePass).toBe(true);
    const validate = new Ajv().compile(SCHEMA);
    const responseFormat: GenerateOptions['responseFormat'] = { type: 'json_schema', json_schema: { schema: SCHEMA } };
    for (const options of [{ temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 }, { temperature: 0.9, topK: 40, topP: 0.95, minP: 0.02, seed: 3 }, { temperature: 0 }]) {
      const r = await run(engine, { ...options, maxTokens: 120, responseFormat });
      // logprobs: the CPU route.
      const c = await run(engine, { ...options, maxTokens: 120, responseFormat, logprobs: 0 });
      expect(r.ids.length).toBeGreaterThan(3);
      expect(r.ids).toEqual(c.ids);
      expect(r.reason, r.text).toBe('stop');
      expect(validate(JSON.parse(r.text)), r.text).toBe(true);
    }
  });

  it('moves 4 bytes back and nVocab / 8 bytes up per token on the GPU route, nVocab * 4 bytes back on the CPU route', async () => {
    const nVocab = engine.tokenizer!.vocabSize;
    const options: GenerateOptions = { temperature: 0.8, seed: 9, responseFormat: { type: 'grammar', grammar: 'root ::= [a-z ]{60}' } };
    const onGpu = await perToken(engine, options);
    const plain = await perToken(engine, { temperature: 0.8, seed: 9 });
    const onCpu = await perToken(engine, { ...options, logprobs: 0 });
    expect(onGpu.bytesReadBack).toBe(4);
    expect(onGpu.maps).toBe(1);
    expect(onGpu.submits).toBe(1);
    expect(onGpu.bindGroups + onGpu.buffers).toBe(0);
    // One write more than unconstrained GPU sampling: the mask, ceil(nVocab / 32) words.
    expect(onGpu.writeBuffers).toBe(plain.writeBuffers + 1);
    expect(onGpu.bytesWritten - plain.bytesWritten).toBe(maskWords(nVocab) * 4);
    expect(onCpu.bytesReadBack).toBe(nVocab * 4);
  });

  it('a GBNF grammar picks among its sentences, its end shows text held for a stop string; json_object gives an object', async () => {
    const r = await run(engine, { temperature: 0, maxTokens: 10, responseFormat: { type: 'grammar', grammar: 'root ::= "yes" | "no" | "{maybe}"' } });
    expect(['yes', 'no', '{maybe}']).toContain(r.text);
    expect(r.reason).toBe('stop');
    // The closing brace is held back as the possible start of the stop string "}!" until the grammar ends.
    const held = await run(engine, { temperature: 0, maxTokens: 10, stop: ['}!'], responseFormat: { type: 'grammar', grammar: 'root ::= "{ok}"' } });
    expect(held).toMatchObject({ text: '{ok}', reason: 'stop' });
    const o = await run(engine, { temperature: 0, maxTokens: 6, responseFormat: { type: 'json_object' } });
    expect(o.text.startsWith('{')).toBe(true);
  });

  it('a grammar that cannot finish within maxTokens ends with reason length', async () => {
    const r = await run(engine, { temperature: 1, seed: 5, maxTokens: 5, responseFormat: { type: 'grammar', grammar: 'root ::= [a-z]{50}' } });
    expect(r.reason).toBe('length');
    expect(r.n).toBe(5);
    expect(r.text).toMatch(/^[a-z]+$/);
  });

});
