// How DecodeOps.project packs matrices into matvec_fused dispatches: as
// many segments as the storage-buffer limit allows (four at most, three
// with biases), every binding within the limit, and the split of a first
// segment's rows (qwen35's attn_q) in its parameters.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { projectDispatches, type MatvecDeps } from '../../src/gpu/decode-matvec';
import { resolveMatvecTuning } from '../../src/gpu/matvec-tuning';
import type { ActBuffer, Projection, WeightMatrix } from '../../src/gpu/ops-api';

const LIMITS = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };

function deps(maxStorageBuffers: number): MatvecDeps {
  const tuning = resolveMatvecTuning({}, LIMITS, { packedInt8Dot: false });
  return { tuningFor: () => tuning, cpuEmulated: false, maxStorageBuffers, placeholder: {} as GPUBuffer, step: {} as GPUBuffer, grid: (n) => [n, 1] };
}

const matrix = (name: string, rows: number, type = GgmlType.Q8_0): WeightMatrix => ({ name, type, rows, cols: 64, parts: [{ buffer: { label: name } as GPUBuffer, firstRow: 0, rowCount: rows }] });
const act = (length: number): ActBuffer => ({ buffer: {} as GPUBuffer, length });
const norm = { weight: {} as GPUBuffer, eps: 1e-6 };

/** The u32 words of a dispatch's parameters (matvec_fused's Params order). */
function words(params: ReturnType<typeof projectDispatches>[number]['params']): number[] {
  return params.map((f) => ('u32' in f ? f.u32 : f.f32));
}

describe('DecodeOps.project packing', () => {
  it('takes four matrices in one dispatch where the limit allows, their rows, row bytes and outputs as vec4s', () => {
    const ps: Projection[] = [
      { w: matrix('blk.0.attn_qkv.weight', 96), outOffset: 0 },
      { w: matrix('blk.0.attn_gate.weight', 32), outOffset: 96 },
      { w: matrix('blk.0.ssm_alpha.weight', 4, GgmlType.F32), outOffset: 128 },
      { w: matrix('blk.0.ssm_beta.weight', 4, GgmlType.F32), outOffset: 132 },
    ];
    const [d, ...rest] = projectDispatches(deps(8), act(64), ps, act(136), { norm });
    expect(rest).toHaveLength(0);
    expect(d.weights).toBe('blk.0.attn_qkv.weight+blk.0.attn_gate.weight+blk.0.ssm_alpha.weight+blk.0.ssm_beta.weight');
    const w = words(d.params);
    // cols, bias mask, eps, softcap, then rows, row bytes, outputs, bias offsets (4 each), split.
    expect(w[0]).toBe(64);
    expect(w.slice(4, 8)).toEqual([96, 32, 4, 4]);
    expect(w.slice(8, 12)).toEqual([68, 68, 256, 256]);
    expect(w.slice(12, 16)).toEqual([0, 96, 128, 132]);
    expect(w.slice(20, 22)).toEqual([0, 0]);
    expect(d.buffers.length).toBeLessThanOrEqual(8);
  });

  it('keeps every dispatch within the storage-buffer limit, with and without biases', () => {
    // 8: the least a WebGPU device may offer.
    for (const limit of [8, 9, 10, 12]) {
      for (const bias of [false, true]) {
        const ps: Projection[] = ['q', 'k', 'v', 'x', 'y'].map((n, i) => ({ w: matrix(`blk.0.attn_${n}.weight`, 8), outOffset: 8 * i, bias: bias ? ({} as GPUBuffer) : undefined }));
        const ds = projectDispatches(deps(limit), act(64), ps, act(40), { norm });
        expect(ds.flatMap((d) => d.weights.split('+'))).toHaveLength(5);
        for (const d of ds) {
          // Storage bindings: all but the parameters' uniform (binding 0, not in this list).
          expect(d.buffers.length, `limit ${limit}, bias ${bias}`).toBeLessThanOrEqual(limit);
          expect(d.weights.split('+').length).toBeLessThanOrEqual(bias ? 3 : 4);
        }
      }
    }
    // Three biased matrices at the default limit of 8: two dispatches, as before there were four segments.
    const qkv: Projection[] = ['q', 'k', 'v'].map((n, i) => ({ w: matrix(`blk.0.attn_${n}.weight`, 8), outOffset: 8 * i, bias: {} as GPUBuffer }));
    expect(projectDispatches(deps(8), act(64), qkv, act(24), { norm }).map((d) => d.weights.split('+').length)).toEqual([2, 1]);
  });

  it("splits a first matrix's rows between two outputs, and refuses a split it cannot make", () => {
    const wqg = matrix('blk.3.attn_q.weight', 32);
    const ps: Projection[] = [
      { w: wqg, outOffset: 0, split: { every: 4, out: 24 } },
      { w: matrix('blk.3.attn_k.weight', 4), outOffset: 16 },
      { w: matrix('blk.3.attn_v.weight', 4), outOffset: 20 },
    ];
    const [d] = projectDispatches(deps(8), act(64), ps, act(40), { norm });
    expect(words(d.params).slice(20, 22)).toEqual([4, 24]);
    // The split's second half must fit.
    expect(() => projectDispatches(deps(8), act(64), ps, act(39), { norm })).toThrow(/split rows/);
    // Only the first projection may split, in whole pairs of blocks.
    expect(() => projectDispatches(deps(8), act(64), [ps[1], ps[0]], act(40), { norm })).toThrow(/only the first/);
    expect(() => projectDispatches(deps(8), act(64), [{ ...ps[0], split: { every: 3, out: 24 } }], act(40), { norm })).toThrow(/alternate/);
  });
});
