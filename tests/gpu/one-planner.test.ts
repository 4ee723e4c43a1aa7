// One planner: the compatibility report shown before loading and the load
// make the same plan (stories260K on Dawn at small budgets), the loader
// gives up prefill batch before layers and context, and a budget below the
// file's size still runs with the tokens of an unlimited one.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClawEngine } from '../../src/engine/engine';
import type { GenerateEvent, LoadOptions } from '../../src/engine/types';
import { ClawError } from '../../src/errors';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { STORIES_260K, haveModels, noModelsReason } from '../unit/gguf-helpers';

const KiB = 1024;

async function greedyTokens(engine: ClawEngine): Promise<number[]> {
  const out: number[] = [];
  for await (const e of engine.generate('Once upon a time', { temperature: 0, maxTokens: 12 }) as AsyncGenerator<GenerateEvent>) {
    if (e.type === 'token' && e.tokenId >= 0) out.push(e.tokenId);
  }
  return out;
}

describe.skipIf(!haveModels)('the report before loading and the load make one plan', () => {
  if (!haveModels) console.warn(noModelsReason);
  let engine: ClawEngine;
  let source: BytesSource;
  let unlimited: number[];

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    engine = await ClawEngine.create({ gpu: getRuntimeGpu() });
    source = new BytesSource(readFileSync(STORIES_260K), 'stories260K.gguf');
    await engine.load(source, {});
    unlimited = await greedyTokens(engine);
    expect(unlimited.length).toBe(12);
  });
  afterAll(async () => {
    await engine?.destroy();
  });

  const cases: [string, LoadOptions][] = [
    ['3 MiB', { vramLimit: { bytes: 3072 * KiB } }],
    ['1.5 MiB', { vramLimit: { bytes: 1536 * KiB } }],
    ['1 MiB (below the file size) at context 128', { vramLimit: { bytes: 1024 * KiB }, ctxSize: 128 }],
    ['900 KiB at context 128', { vramLimit: { bytes: 900 * KiB }, ctxSize: 128 }],
    ['1 MiB at the default context (does not fit)', { vramLimit: { bytes: 1024 * KiB } }],
    ['256 KiB (does not fit)', { vramLimit: { bytes: 256 * KiB } }],
  ];
  for (const [name, options] of cases) {
    it(`${name}: the report's plan is the load's plan, and a plan that fits gives the unlimited tokens`, async () => {
      const report = await engine.inspect(source, options);
      expect(report.plan).toBeDefined();
      let info;
      await engine.unload();
      engine.allocator.resetPeak();
      try {
        info = await engine.load(source, options);
      } catch (e) {
        expect(e).toBeInstanceOf(ClawError);
        expect((e as ClawError).code).toBe('clw-gpu-oom');
        expect((e as ClawError).message).toContain(report.plan!);
        expect(report.verdict).toBe('will-not-run');
        expect(report.issues.some((i) => i.code === 'clw-gpu-oom' && i.severity === 'error')).toBe(true);
        return;
      }
      expect(info.plan).toBe(report.plan);
      expect(report.verdict).not.toBe('will-not-run');
      expect(engine.gpuBytesPeak).toBeLessThanOrEqual(info.budgetBytes!);
      expect(await greedyTokens(engine)).toEqual(unlimited);
    });
  }

  it('at 3 MiB the prefill batch shrinks (the budget of 3 MiB used to fail with clw-gpu-oom)', async () => {
    const info = await engine.load(source, { vramLimit: { bytes: 3072 * KiB } });
    expect(info.planNotes!.some((n) => /prefill batch 128 -> \d+/.test(n))).toBe(true);
  });

  it('1 MiB at context 128 loads with less than the file in VRAM', async () => {
    const info = await engine.load(source, { vramLimit: { bytes: 1024 * KiB }, ctxSize: 128 });
    expect(info.budgetBytes!).toBeLessThan(source.size);
    expect(info.residentLayers!).toBeLessThan(info.nLayers);
  });
});
