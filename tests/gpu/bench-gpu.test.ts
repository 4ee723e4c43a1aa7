// The GPU benchmark script (npm run bench:gpu) on SwiftShader with a tiny
// model and few tokens: it measures a copy bandwidth, checks greedy tokens
// against llama.cpp's recorded ones, decodes each model through the decode
// pass, and its fraction is the measured weight bytes per token x tok/s over
// that bandwidth; the per-token CPU breakdown is there and adds up, and the
// wait probe sees Dawn polling while a map waits. No figure is checked
// against a time; only that the pieces are there and agree with each other.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { benchTunings, gpuBenchTable, runGpuBench, type ReferenceCase } from '../../bench/lib/gpu-bench';
import { MATVEC_AUTOTUNE_CANDIDATES } from '../../src/gpu/matvec-autotune';
import { parseMatvecTunings } from '../../src/gpu/matvec-tuning';
import { TINY_LLAMA } from '../../bench/lib/real-shape-models';
import { haveSharedModels, referenceGreedy, sharedModels } from '../conformance/llama-reference';

const dir = mkdtempSync(path.join(os.tmpdir(), 'webclaw-bench-gpu-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The greedy sampler's dispatches after the decode pass (argmax: two passes of the reduction). */
const GREEDY_SAMPLER_DISPATCHES = 2;

describe('bench:gpu', () => {
  it('reports load, first token, prefill and decode figures and the fraction of the copy bandwidth', { timeout: 240_000 }, async () => {
    // Two matvec tunings (a sweep): each model is measured under both; `auto` is the engine's search at load.
    const r = await runGpuBench({ shapes: [TINY_LLAMA], quants: ['Q4_0'], tokens: 2, prefill: 24, copyBytes: 4 << 20, waitMs: 20, tunings: benchTunings('rowsPerBlock=2;auto'), profile: true });
    expect(r.bandwidth.bytes).toBe(4 << 20);
    expect(r.bandwidth.gbPerS).toBeGreaterThan(0);
    const auto = r.rows[1].autotune!;
    expect(auto.candidates.map((c) => c.label)).toEqual(MATVEC_AUTOTUNE_CANDIDATES.map((c) => c.label));
    expect(r.rows.map((x) => [x.model, x.tuning])).toEqual([
      ['tiny llama (Q4_0)', 'rowsPerBlock=2'],
      ['tiny llama (Q4_0)', `auto -> ${auto.chosen}`],
    ]);
    for (const row of r.rows) {
      expect(row.run.decodePass).toBe(true);
      expect(row.decodeTokS).toBeGreaterThan(0);
      expect(row.run.nPrompt).toBeGreaterThanOrEqual(24);
      expect(row.run.prefillTokS).toBeGreaterThan(0);
      expect(row.run.ttftMs).toBeGreaterThan(0);
      // The decode pass binds every weight byte once per token (one embedding row).
      expect(row.run.weightReadRatio).toBeCloseTo(1, 2);
      expect(row.bandwidthFraction).toBeCloseTo((row.run.perToken.weightBytes * row.decodeTokS) / 1e9 / r.bandwidth.gbPerS, 9);
      // Per token: one encoder, one step write, one submit and one read-back, each timed; the window is decode tok/s's.
      const cpu = row.run.cpu;
      for (const part of [cpu.encodeMs, cpu.writeBufferMs, cpu.submitMs, cpu.readbackMs, cpu.mapPendingMs]) expect(part).toBeGreaterThan(0);
      expect(cpu.wallMs * row.decodeTokS).toBeCloseTo(1000, 6);
      expect(cpu.mainCpuMs).not.toBeNull();
      expect(cpu.idleMs! + cpu.mainCpuMs!).toBeCloseTo(cpu.wallMs, 6);
      expect(cpu.otherMainMs! + cpu.encodeMs + cpu.writeBufferMs + cpu.submitMs + cpu.readbackMs + cpu.pollMs).toBeCloseTo(cpu.mainCpuMs!, 6);
    }
    // The per-kernel profile covers the decode pass's every dispatch, each labelled with what it computes.
    for (const row of r.rows) {
      const kernels = row.kernels!;
      expect(kernels.reduce((n, k) => n + k.dispatches, 0)).toBe(row.run.perToken.dispatches - GREEDY_SAMPLER_DISPATCHES);
      expect(kernels.every((k) => k.ms >= 0)).toBe(true);
      expect(kernels.map((k) => k.kernel)).toEqual(expect.arrayContaining(['matvecFused attn_q.weight+attn_k.weight+attn_v.weight', 'matvecFused ffn_gate.weight+ffn_up.weight', 'attentionDecodeMerge']));
    }
    // Dawn polls while a map waits, and not while nothing does.
    expect(r.wait.samples.map((s) => s.way)).toEqual(['idle', 'map', 'done', 'sleep']);
    expect(r.wait.samples.find((s) => s.way === 'map')!.pollTicks).toBeGreaterThan(0);
    expect(r.wait.samples.find((s) => s.way === 'idle')!.pollTicks).toBe(0);
    const table = gpuBenchTable(r);
    expect(table).toContain('tiny llama (Q4_0)');
    expect(table).toContain('| model | wall ms / token | GPU ms / decode pass |');
    expect(table).toContain('| tiny llama (Q4_0) | rowsPerBlock=2 |');
    expect(table).toContain('| tiny llama (Q4_0) [rowsPerBlock=2] |');
    expect(table).toContain(`| tiny llama (Q4_0) | auto -> ${auto.chosen} |`);
  });

  it('parses --tune: default, field=number pairs, booleans as 0/1, auto, and refuses unknown fields', () => {
    expect(benchTunings('default; auto ;xTile=64')).toEqual([
      { label: 'default', matvec: {} },
      { label: 'auto', matvec: 'auto' },
      { label: 'xTile=64', matvec: { xTile: 64 } },
    ]);
    expect(parseMatvecTunings('default;maxLanes=128,workgroup=256;wideLoads=1')).toEqual([
      { label: 'default', matvec: {} },
      { label: 'maxLanes=128,workgroup=256', matvec: { maxLanes: 128, workgroup: 256 } },
      { label: 'wideLoads=1', matvec: { wideLoads: true } },
    ]);
    expect(() => parseMatvecTunings('lanes=4')).toThrow(/lanes=4/);
    expect(() => parseMatvecTunings('maxLanes')).toThrow(/maxLanes/);
  });

  it.skipIf(!haveSharedModels)('checks greedy tokens against llama.cpp recorded ones, and reports a disagreement', { timeout: 120_000 }, async () => {
    const file = 'stories260K.gguf';
    copyFileSync(path.join(sharedModels, file), path.join(dir, file));
    const ref = await referenceGreedy(path.join(sharedModels, file), 'Once upon a time', 8);
    const wrong = [...ref.tokens];
    wrong[3] = (wrong[3] + 1) % 512;
    const cases: ReferenceCase[] = [
      { file, prompt: 'Once upon a time', promptIds: ref.promptIds, tokens: ref.tokens },
      { file, prompt: 'Once upon a time', promptIds: ref.promptIds, tokens: wrong },
    ];
    const reference = path.join(dir, 'reference.json');
    writeFileSync(reference, JSON.stringify(cases));
    const r = await runGpuBench({ shapes: [], quants: [], tokens: 2, prefill: 8, copyBytes: 1 << 20, waitMs: 20, reference });
    expect(r.checks.map((c) => [c.promptIdsEqual, c.agreeing, c.expected])).toEqual([
      [true, 8, 8],
      [true, 3, 8],
    ]);
    expect(gpuBenchTable(r)).toContain("8 of 8 greedy tokens equal llama.cpp's");
  });
});
