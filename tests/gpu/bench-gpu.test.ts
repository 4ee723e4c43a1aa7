// The GPU benchmark script (npm run bench:gpu) on SwiftShader with tiny
// models and few tokens: it measures a copy bandwidth, decodes each model
// through the decode pass, and its fraction is the measured weight bytes
// per token x tok/s over that bandwidth. No figure is checked against a
// time; only that the pieces are there and agree with each other.

import { describe, expect, it } from 'vitest';
import { copyBandwidth, gpuBenchTable, runGpuBench } from '../../bench/lib/gpu-bench';
import { TINY_LLAMA } from '../../bench/lib/real-shape-models';
import { ensureSwiftShaderFallback, getRuntimeGpu } from '../../src/gpu/gpu-node';

describe('bench:gpu', () => {
  it('copies the whole buffer in the bandwidth kernel', { timeout: 60_000 }, async () => {
    ensureSwiftShaderFallback();
    const adapter = await getRuntimeGpu().requestAdapter();
    const device = await adapter!.requestDevice();
    const bw = await copyBandwidth(device, 1 << 20, 2, 1);
    expect(bw.bytes).toBe(1 << 20);
    expect(bw.gbPerS).toBeGreaterThan(0);
    device.destroy();
  });

  it('reports decode tok/s and the fraction of the copy bandwidth for each model', { timeout: 240_000 }, async () => {
    const r = await runGpuBench({ shapes: [TINY_LLAMA], quants: ['Q4_0'], tokens: 2, copyBytes: 4 << 20 });
    expect(r.rows.map((x) => x.model)).toEqual(['tiny llama (Q4_0)']);
    for (const row of r.rows) {
      expect(row.run.decodePass).toBe(true);
      expect(row.decodeTokS).toBeGreaterThan(0);
      // The decode pass binds every weight byte once per token (one embedding row).
      expect(row.run.weightReadRatio).toBeCloseTo(1, 2);
      expect(row.bandwidthFraction).toBeCloseTo((row.run.perToken.weightBytes * row.decodeTokS) / 1e9 / r.bandwidth.gbPerS, 9);
    }
    expect(r.rows[0].run.perToken.weightBytes).toBeGreaterThan(0);
    expect(gpuBenchTable(r)).toContain('tiny llama (Q4_0)');
  });
});
