// The matvec search at load (GpuOpsOptions.matvec 'auto') on a GPU: the
// report it leaves in ModelInfo, that the pass then runs the tuning it
// chose (the recorded dispatches are those of an engine given that tuning
// outright), that it leaves no candidate's buffers behind, and that the
// logits stay the batch path's. The search's choices over timings are
// tests/unit/matvec-autotune.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeDispatches } from '../../bench/lib/kernel-profile';
import { ClawEngine } from '../../src/engine/engine';
import { BytesSource } from '../../src/gguf/source';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';
import { pickTuning } from '../../src/gpu/matvec-autotune';
import { memoryMatvecStore, rememberChoice, type MatvecChoiceStore } from '../../src/gpu/matvec-memory';
import type { MatvecChoice, MatvecTuningCase } from '../../src/gpu/matvec-tuning';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { greedyLogitsDiff } from './helpers/greedy-logits';

// Rows of 256 and 512 inputs; the Q4_K_M mix puts Q4_K and Q6_K side by side.
const model = makeSyntheticModel({ arch: 'llama', nEmbd: 256, nFf: 512, nLayers: 1, nHeads: 4, nKvHeads: 2, nVocab: 512, seed: 5, ctxLength: 64, mix: 'Q4_K_M' });
const source = () => new BytesSource(model, 'm.gguf');
// The GPU family (threads share rows), whatever the adapter: the tunings differ there.
const engineWith = (matvec: MatvecChoice | 'auto', matvecCandidates?: MatvecTuningCase[], matvecStore?: MatvecChoiceStore) =>
  ClawEngine.create({ gpu: getRuntimeGpu(), kernels: { decodeVariant: 'gpu', matvec, matvecCandidates, matvecStore } });
const grids = (engine: ClawEngine) => decodeDispatches(engine).map((d) => d.groups.join('x'));

describe('matvec tuning chosen at load', () => {
  let batch: ClawEngine;

  beforeAll(async () => {
    ensureSwiftShaderFallback();
    batch = await ClawEngine.create({ gpu: getRuntimeGpu(), decodePass: false });
    await batch.load(source(), { ctxSize: 32 });
  });
  afterAll(async () => {
    await batch?.destroy();
  });

  it('times the candidates, reports them, and decodes as the batch path does', { timeout: 300_000 }, async () => {
    const candidates: MatvecTuningCase[] = [
      { label: 'default', matvec: {} },
      // Rows of 8 and 16 blocks get 4 and 8 lanes under either maxLanes: the default's kernels, not timed again.
      { label: 'maxLanes=64', matvec: { maxLanes: 64 } },
      // Refused by the device before anything is recorded (before the search's budget can run out on a CPU emulation).
      { label: 'workgroup=96', matvec: { workgroup: 96 } },
      { label: 'xTile=64,rowsPerBlock=2', matvec: { xTile: 64, rowsPerBlock: 2 } },
    ];
    const engine = await engineWith('auto', candidates);
    try {
      const info = await engine.load(source(), { ctxSize: 32 });
      const report = info.matvecTuning!;
      expect(report.candidates.map((c) => c.label)).toEqual(candidates.map((c) => c.label));
      expect(report.candidates[0].ms).toBeGreaterThan(0);
      expect(report.candidates[1]).toEqual({ label: 'maxLanes=64', ms: null, skipped: 'the same kernels and grids as default' });
      expect(report.candidates[2].ms).toBeNull();
      expect(report.candidates[2].skipped).toContain('workgroup');
      expect(report.candidates[3].ms ?? report.candidates[3].skipped).toBeTruthy();
      // Each projection site (attn_q, attn_output, ffn_gate, ffn_down, output) took its fastest over the margin.
      expect(Object.keys(report.bySite).sort()).toEqual(['attn_output.weight', 'attn_q.weight', 'ffn_down.weight', 'ffn_gate.weight', 'output.weight']);
      for (const [site, label] of Object.entries(report.bySite)) expect(label, site).toBe(pickTuning(report.candidates.map((c) => ({ label: c.label, ms: c.sites?.[site] ?? null }))));
      if (Object.values(report.bySite).every((l) => l === 'default')) expect(report.chosen).toBe('default');
      const worst = await greedyLogitsDiff(engine, batch, 2);
      // f32 rounding in another summation order only, as every tuning (tests/gpu/matvec-tuning.test.ts).
      expect(worst).toBeLessThan(2e-4);
    } finally {
      await engine.destroy();
    }
  });

  it('records the pass with the tuning it chose and frees the others', { timeout: 300_000 }, async () => {
    // One candidate: the search must choose it, whatever the timings.
    const tuning = { workgroup: 64, maxLanes: 8, rowsPerBlock: 2 };
    const auto = await engineWith('auto', [{ label: 'only', matvec: tuning }]);
    const given = await engineWith(tuning);
    const plain = await engineWith({});
    try {
      const info = await auto.load(source(), { ctxSize: 32 });
      await given.load(source(), { ctxSize: 32 });
      await plain.load(source(), { ctxSize: 32 });
      expect(info.matvecTuning!.chosen).toBe('only');
      expect(grids(auto)).toEqual(grids(given));
      expect(grids(auto)).not.toEqual(grids(plain));
      // No candidate's parameter buffers or scratch outlive the search.
      expect(auto.allocator.liveBytesByPurpose()).toEqual(given.allocator.liveBytesByPurpose());
      // Without 'auto' there is no search and no report.
      expect((await plain.load(source(), { ctxSize: 32 })).matvecTuning).toBeUndefined();
    } finally {
      await Promise.all([auto.destroy(), given.destroy(), plain.destroy()]);
    }
  });

  it('records a tuning per projection site (what a search may choose): that site as the tuning gives it, the others as the default', { timeout: 300_000 }, async () => {
    const tuning = { workgroup: 64, maxLanes: 8, rowsPerBlock: 2 };
    const mixed = await engineWith({ bySite: { 'ffn_down.weight': tuning } });
    const given = await engineWith(tuning);
    const plain = await engineWith({});
    try {
      for (const e of [mixed, given, plain]) await e.load(source(), { ctxSize: 32 });
      const labelled = (e: ClawEngine) => decodeDispatches(e).map((d) => `${d.label} ${d.groups.join('x')}`);
      const expected = labelled(plain).map((line, i) => (line.includes('ffn_down') ? labelled(given)[i] : line));
      expect(labelled(mixed)).toEqual(expected);
      expect(labelled(mixed)).not.toEqual(labelled(plain));
      expect(await greedyLogitsDiff(mixed, batch, 2)).toBeLessThan(2e-4);
    } finally {
      await Promise.all([mixed.destroy(), given.destroy(), plain.destroy()]);
    }
  });

  it('keeps its choice in a store: the next engine on this adapter loads the model with it and times nothing', { timeout: 300_000 }, async () => {
    const tuning = { workgroup: 64, maxLanes: 8, rowsPerBlock: 2 };
    const candidates: MatvecTuningCase[] = [
      { label: 'default', matvec: {} },
      { label: 'small', matvec: tuning },
    ];
    const store = memoryMatvecStore();
    const first = await engineWith('auto', candidates, store);
    const given = await engineWith(tuning);
    let second: ClawEngine | undefined;
    try {
      const searched = (await first.load(source(), { ctxSize: 32 })).matvecTuning!;
      expect(searched.memory?.measuredAt).toBeUndefined();
      const key = searched.memory!.key;
      expect([...store.entries.keys()]).toEqual([key]);
      // Whatever won here, store 'small' as the choice, so the next load shows it ran what was stored.
      await store.set(key, rememberChoice(tuning, { ...searched, chosen: 'small' }));
      second = await engineWith('auto', candidates, store);
      await given.load(source(), { ctxSize: 32 });
      const remembered = (await second.load(source(), { ctxSize: 32 })).matvecTuning!;
      expect(remembered.memory).toMatchObject({ key, measuredAt: expect.any(String), searchMs: searched.tookMs });
      expect(remembered.chosen).toBe('small');
      expect(grids(second)).toEqual(grids(given));
      expect(second.allocator.liveBytesByPurpose()).toEqual(given.allocator.liveBytesByPurpose());
      expect(await greedyLogitsDiff(second, batch, 2)).toBeLessThan(2e-4);
      // Another model shape is another key: searched, and kept beside the first.
      const other = makeSyntheticModel({ arch: 'llama', nEmbd: 128, nFf: 256, nLayers: 1, nHeads: 2, nKvHeads: 2, nVocab: 512, seed: 5, ctxLength: 64, mix: 'Q4_K_M' });
      const otherReport = (await second.load(new BytesSource(other, 'o.gguf'), { ctxSize: 32 })).matvecTuning!;
      expect(otherReport.memory?.measuredAt).toBeUndefined();
      expect(store.entries.size).toBe(2);
    } finally {
      await Promise.all([first.destroy(), given.destroy(), second?.destroy()]);
    }
  });
});
