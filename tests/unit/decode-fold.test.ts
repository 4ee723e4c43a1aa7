// DecodeRecorder's folds, over stand-in WebGPU objects: a held residual add
// (addNormed: gemma's post-norms) into the matvec that reads x next
// (matvec_fused's PRE_ADD), and qwen35's conv into its projection's
// epilogue (CONV): what is folded and what is recorded on its own, and where
// the residual stream's bindings point once a folded add has moved it to its
// second buffer and back. The arithmetic is checked against the batch path
// in tests/gpu/decode-pass.test.ts.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { DecodeRecorder, type DecodeRecorderDeps } from '../../src/gpu/decode-ops';
import { resolveMatvecTuning } from '../../src/gpu/matvec-tuning';
import type { ActBuffer, WeightMatrix } from '../../src/gpu/ops-api';

const LIMITS = { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 16384 };
const buf = (label: string) => ({ label, size: 1 << 20 }) as unknown as GPUBuffer;

interface Made {
  entries: { binding: number; resource: GPUBufferBinding }[];
}

function recorder(maxStorageBuffers: number): DecodeRecorder {
  const tuning = resolveMatvecTuning({}, LIMITS, { packedInt8Dot: false });
  const device = {
    queue: { writeBuffer: () => {} },
    createBindGroup: (d: { entries: Made['entries'] }) => ({ entries: d.entries }),
  } as unknown as GPUDevice;
  const deps: DecodeRecorderDeps = {
    device,
    allocator: { allocSync: (_p: string, _size: number, _u: number, label: string) => buf(label) } as unknown as DecodeRecorderDeps['allocator'],
    pipeline: () => ({ getBindGroupLayout: () => ({}) }) as unknown as GPUComputePipeline,
    pipelineAsync: async () => ({}) as GPUComputePipeline,
    kernelId: (kernel, variant) => `${kernel}${variant.defines?.PRE_ADD ? '+add' : ''}${variant.defines?.CONV ? '+conv' : ''}`,
    placeholder: buf('placeholder'),
    gridTableEntries: () => [],
    maxStorageBuffers,
    maxGroupsPerDim: 65535,
    cpuEmulated: false,
    matvec: () => tuning,
  };
  return new DecodeRecorder(deps, buf('step'), 64, { nHeads: 4, headDim: 16 });
}

const act = (label: string, length = 64): ActBuffer => ({ buffer: buf(label), length });
const matrix = (name: string, rows = 64): WeightMatrix => ({ name, type: GgmlType.F32, rows, cols: 64, parts: [{ buffer: buf(name), firstRow: 0, rowCount: rows }] });
const norm = { weight: buf('norm'), eps: 1e-6 };
const kernels = (r: DecodeRecorder) => r.signature().split(' ').map((k) => k.split(':')[0]);

describe('a held residual add folded into the next matvec', () => {
  it('folds into the next matvec reading x, and records it on its own before anything else that touches x or y', () => {
    const x = act('x');
    const y = act('xb');
    const r = recorder(12);
    r.addNormed(x, y, buf('post'), 64, 1e-6);
    r.gatedProject(x, norm, matrix('blk.0.ffn_gate.weight'), matrix('blk.0.ffn_up.weight'), act('gate'), 'gelu');
    r.project(act('gate'), [{ w: matrix('blk.0.ffn_down.weight'), outOffset: 0 }], y);
    r.addNormed(x, y, buf('post2'), 64, 1e-6);
    // x as the output (a residual accumulate), not as the input: the add first.
    r.project(act('gate'), [{ w: matrix('blk.0.other.weight'), outOffset: 0 }], x, { accumulate: true });
    expect(kernels(r)).toEqual(['matvecFused+add', 'matvecFused', 'rmsNormAdd', 'matvecFused']);
  });

  it('records the add on its own where folding would need more storage buffers than the device has', () => {
    const x = act('x');
    const qkv = ['q', 'k', 'v'].map((n, i) => ({ w: matrix(`blk.0.attn_${n}.weight`, 16), outOffset: 16 * i }));
    // x, out, norm, three segments and PRE_ADD's three: 9.
    for (const [limit, expected] of [
      [8, ['rmsNormAdd', 'matvecFused']],
      [9, ['matvecFused+add']],
    ] as const) {
      const r = recorder(limit);
      r.addNormed(x, act('xb'), buf('post'), 64, 1e-6);
      r.project(x, qkv, act('qkv'), { norm });
      expect(kernels(r), `limit ${limit}`).toEqual(expected);
    }
  });

  it("folds qwen35's conv into the projection where its two bindings cost no dispatch, else records it on its own", () => {
    const ps = ['attn_qkv', 'attn_gate', 'ssm_alpha', 'ssm_beta'].map((n, i) => ({ w: matrix(`blk.0.${n}.weight`, 16), outOffset: 16 * i }));
    const conv = { weight: buf('conv'), state: buf('conv state'), taps: 4 };
    // x, out, norm and four segments: 7; the conv's two make 9.
    for (const [limit, expected] of [
      [8, ['matvecFused', 'ssmConv']],
      [9, ['matvecFused+conv']],
    ] as const) {
      const r = recorder(limit);
      r.project(act('x'), ps, act('qkv'), { norm, conv });
      expect(kernels(r), `limit ${limit}`).toEqual(expected);
    }
  });

  it('moves the residual stream to its second buffer and back: every later binding of x follows, the stored copy does not', () => {
    const x = act('x');
    const y = act('xb');
    const r = recorder(12);
    const read = (label: string) => r.project(x, [{ w: matrix(label), outOffset: 0 }], act(`out ${label}`), { norm });
    r.addNormed(x, y, buf('post'), 64, 1e-6);
    read('a'); // reads x, stores x' to the twin
    read('b'); // reads the twin
    r.addNormed(x, y, buf('post'), 64, 1e-6);
    read('c'); // reads the twin, stores x' back to x
    read('d'); // reads x
    const list = r.finish();
    const binding = (i: number, n: number) => (list[i].bindGroup as unknown as Made).entries.find((e) => e.binding === n)!.resource.buffer.label;
    const twin = 'decode residual twin';
    expect([binding(0, 1), binding(0, 7)]).toEqual(['x', twin]);
    expect(binding(1, 1)).toBe(twin);
    expect([binding(2, 1), binding(2, 7)]).toEqual([twin, 'x']);
    expect(binding(3, 1)).toBe('x');
  });
});
