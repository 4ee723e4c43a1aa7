// Where the matvec tuning's int8Dot applies (one table: INT8_DOT_PIECES in
// src/gpu/weight-pieces.ts), and its refusal without
// packed_4x8_integer_dot_product. The pieces' arithmetic
// is checked on the GPU in tests/gpu/matvec-int8.test.ts.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { gatedDispatch, projectDispatches, type MatvecDeps } from '../../src/gpu/decode-matvec';
import { MATVEC_TUNING, parseMatvecTunings, resolveMatvecTuning, type MatvecTuning } from '../../src/gpu/matvec-tuning';
import type { ActBuffer, WeightMatrix } from '../../src/gpu/ops-api';
import { assembleKernel } from '../../src/gpu/shaders';
import { KERNELS } from '../../src/gpu/kernels';
import { INT8_DOT_PIECES } from '../../src/gpu/weight-pieces';

const LIMITS = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };
const buffer = {} as GPUBuffer;

function deps(matvec: Partial<MatvecTuning>): MatvecDeps {
  const tuning = resolveMatvecTuning(matvec, LIMITS, { packedInt8Dot: true });
  return { tuningFor: () => tuning, cpuEmulated: false, maxStorageBuffers: 10, placeholder: buffer, step: buffer, grid: (n) => [n, 1] };
}

function matrix(type: GgmlType, cols: number, name = GgmlType[type]): WeightMatrix {
  return { name, type, rows: 8, cols, parts: [{ buffer, firstRow: 0, rowCount: 8 }] };
}

const act = (length: number): ActBuffer => ({ buffer, length });

describe('int8Dot', () => {
  it('is refused, naming the field, without the WGSL language feature', () => {
    expect(() => resolveMatvecTuning({ int8Dot: true }, LIMITS, { packedInt8Dot: false })).toThrow(/int8Dot.*packed_4x8_integer_dot_product/);
    expect(resolveMatvecTuning({ int8Dot: true, wideLoads: true, xTile: 64 }, LIMITS, { packedInt8Dot: true })).toMatchObject({ int8Dot: true, wideLoads: true });
    // Off (the default), the feature is not needed.
    expect(resolveMatvecTuning({}, LIMITS, { packedInt8Dot: false }).int8Dot).toBe(false);
    expect(MATVEC_TUNING.int8Dot).toBe(false);
    expect(parseMatvecTunings('int8Dot=1,maxLanes=128')[0].matvec).toEqual({ int8Dot: true, maxLanes: 128 });
  });

  it('takes the int8 pieces only where every segment type has one and rows are whole 32-blocks', () => {
    const on = deps({ int8Dot: true });
    const variant = (types: GgmlType[], cols: number, d = on) => projectDispatches(d, act(cols), types.map((t) => ({ w: matrix(t, cols), outOffset: 0 })), act(64), {})[0].variant;
    for (const type of INT8_DOT_PIECES.keys()) {
      const cols = type === GgmlType.Q4_K || type === GgmlType.Q5_K || type === GgmlType.Q6_K ? 256 : 64;
      expect(variant([type], cols), GgmlType[type]).toMatchObject({ int8Dot: true, defines: { INT8: true } });
    }
    expect(variant([GgmlType.Q4_K, GgmlType.Q6_K, GgmlType.Q4_K], 256)).toMatchObject({ int8Dot: true });
    // A segment without a piece (F32, IQ4_NL) keeps the whole dispatch on the f32 pieces.
    expect(variant([GgmlType.Q8_0, GgmlType.F32], 64)).toMatchObject({ int8Dot: false, defines: { INT8: false } });
    expect(variant([GgmlType.IQ4_NL], 64)).toMatchObject({ int8Dot: false });
    expect(variant([GgmlType.Q8_0], 96)).toMatchObject({ int8Dot: true });
    // Rows of 4-element blocks (DOT4): 36 Q8_0 columns cannot exist (blocks of 32), F16 ones can.
    expect(variant([GgmlType.F16], 36)).toMatchObject({ int8Dot: false, defines: { DOT4: true, INT8: false } });
    // Off by default.
    expect(variant([GgmlType.Q8_0], 64, deps({}))).toMatchObject({ int8Dot: false });
    const gated = gatedDispatch(on, act(256), { weight: buffer, eps: 1e-5 }, matrix(GgmlType.Q4_K, 256, 'gate'), matrix(GgmlType.Q4_K, 256, 'up'), act(8), 'silu');
    expect(gated.variant).toMatchObject({ int8Dot: true, defines: { INT8: true } });
  });

  it('assembles matvec_fused with each segment\'s int8 piece and the quantizer, once the language feature is required', () => {
    const types = [GgmlType.Q4_0, GgmlType.Q6_K];
    const defines = { WG: 64, LANES: 8, RT: 4, DOT4: false, SHARED_X: false, NORM: true, HAS_BIAS: false, GATED: false, EPILOGUE: 0, GATE_IN: false, PRE_ADD: false, CONV: false, INT8: true };
    const text = assembleKernel(KERNELS.matvecFused, { segmentTypes: types, int8Dot: true, defines });
    expect(text.startsWith('requires packed_4x8_integer_dot_product;')).toBe(true);
    expect(text.match(/^requires /gm)).toHaveLength(1);
    expect(text).toContain('fn quantize_block()');
    expect(text).toContain('fn dot32_s0(');
    expect(text.match(/dot4I8Packed/g)!.length).toBeGreaterThan(4);
    const f32Text = assembleKernel(KERNELS.matvecFused, { segmentTypes: types, defines: { ...defines, INT8: false } });
    expect(f32Text).not.toContain('requires packed_4x8_integer_dot_product');
    expect(f32Text).not.toContain('pack4xI8(');
    expect(() => assembleKernel(KERNELS.matvecFused, { segmentTypes: [GgmlType.F32], int8Dot: true, defines })).toThrow(/int8 dot piece/);
    // With wide loads, Q4_K and Q5_K bind vec4s (their wide int8 pieces) beside Q6_K's words.
    const wide = assembleKernel(KERNELS.matvecFused, { segmentTypes: [GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K], int8Dot: true, wideLoads: true, defines });
    expect(wide.match(/var<storage, read> weights_s\d: array<[^>]*>+/g)).toEqual([
      'var<storage, read> weights_s0: array<vec4<u32>>',
      'var<storage, read> weights_s1: array<vec4<u32>>',
      'var<storage, read> weights_s2: array<u32>',
    ]);
    expect(wide).not.toContain('q4k_dot4_s0(q0.x'); // the f32 wide piece's call
  });
});
