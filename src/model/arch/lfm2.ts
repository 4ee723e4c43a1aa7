// lfm2 (LFM2 / LFM2.5): gated short-convolution layers between GQA
// attention layers with q/k norms (llama.cpp src/models/lfm2.cpp). A
// short-convolution layer, after its RMSNorm:
//   b, c, x = in_proj(h)                  three thirds of nEmbd rows each
//   y = c * conv_L(b * x)                 causal depthwise conv over time, width L
//   out = out_proj(y)
// The conv continues from a per-sequence state of the last L - 1 inputs
// (b * x) per channel, kept by the KV cache (KvCache.states). Which layers
// are which: head_count_kv is 0 for the convolutions (hparams-read.ts).

import type { DecodeOps, GpuOps, WeightMatrix } from '../../gpu/ops-api';
import type { Scratch } from '../forward';
import type { Hyperparams } from '../hparams';
import type { PlannedTensor } from '../weights';

export interface ShortConvWeights {
  /** shortconv.conv: per channel its L taps, oldest input first (f32, nEmbd x L). */
  kernel: GPUBuffer;
  /** in_proj split by rows into its b, c and x thirds. */
  inB: WeightMatrix;
  inC: WeightMatrix;
  inX: WeightMatrix;
  out: WeightMatrix;
}

/** The tensors of short-convolution layer l, as llama.cpp's loader names and shapes them ([cols, rows]). */
export function shortConvTensorPlan(hp: Hyperparams, l: number): PlannedTensor[] {
  const { nEmbd, shortConvKernel: L } = hp;
  const b = `blk.${l}.shortconv.`;
  return [
    { name: `${b}conv.weight`, shape: [L, nEmbd], kind: 'vector' },
    {
      name: `${b}in_proj.weight`,
      shape: [nEmbd, 3 * nEmbd],
      kind: 'matrix',
      pieces: ['b', 'c', 'x'].map((part) => ({ slot: `${b}in_proj_${part}.weight`, rows: nEmbd })),
    },
    { name: `${b}out_proj.weight`, shape: [nEmbd, nEmbd], kind: 'matrix' },
  ];
}

/** Layer l's short-convolution weights from the uploaded slots (see shortConvTensorPlan). */
export function assembleShortConv(l: number, slot: (name: string) => WeightMatrix | GPUBuffer | undefined): ShortConvWeights {
  const b = `blk.${l}.shortconv.`;
  const m = (name: string) => slot(name) as WeightMatrix;
  return {
    kernel: slot(`${b}conv.weight`) as GPUBuffer,
    inB: m(`${b}in_proj_b.weight`),
    inC: m(`${b}in_proj_c.weight`),
    inX: m(`${b}in_proj_x.weight`),
    out: m(`${b}out_proj.weight`),
  };
}

/**
 * The block over n tokens at startPos.., from the normed input in scratch.xb
 * to its output in scratch.xb (before the residual add): b into q, c into
 * attn, x into gate (each at least nEmbd wide for lfm2), y over b.
 */
export function recordShortConv(ops: GpuOps, hp: Hyperparams, w: ShortConvWeights, state: GPUBuffer, s: Scratch, n: number, startPos: number): void {
  ops.matmul(w.inB, s.xb, s.q, n);
  ops.matmul(w.inC, s.xb, s.attn, n);
  ops.matmul(w.inX, s.xb, s.gate, n);
  ops.shortConv(s.q, s.attn, s.gate, w.kernel, state, n, hp.nEmbd, hp.shortConvKernel, startPos);
  ops.matmul(w.out, s.q, s.xb, n);
}

/**
 * The block for one token in the recorded decode pass, the residual add
 * included: the norm folded into one projection of in_proj's three thirds
 * into scratch.qkv as [b | c | x], the convolution over it, out_proj added
 * to x. Three dispatches.
 */
export function recordShortConvToken(ops: DecodeOps, hp: Hyperparams, w: ShortConvWeights, attnNorm: GPUBuffer, state: GPUBuffer, s: Scratch): void {
  const { nEmbd } = hp;
  ops.project(
    s.x,
    [
      { w: w.inB, outOffset: 0 },
      { w: w.inC, outOffset: nEmbd },
      { w: w.inX, outOffset: 2 * nEmbd },
    ],
    s.qkv,
    { norm: { weight: attnNorm, eps: hp.rmsEps } },
  );
  ops.shortConv(s.qkv, w.kernel, state, nEmbd, hp.shortConvKernel);
  ops.project(s.qkv, [{ w: w.out, outOffset: 0 }], s.x, { accumulate: true });
}
