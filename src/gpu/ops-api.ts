// The contract between the forward pass (src/model/) and the GPU kernels
// (src/gpu/, shaders/). The forward pass reads like the math and calls these
// by name; bind groups, pipelines, uniforms and encoders stay behind them.
//
// Conventions
// - Activations are f32, row-major: a batch of `n` tokens of width `d` is n*d
//   floats, token-major. The f16 arithmetic path (`dtype`, where the device
//   has `shader-f16`) works inside the kernels: f16 tiles in the prefill
//   matmul, native f16 reads of an f16 KV cache.
// - Weights keep their GGUF block layout. A weight matrix has `rows` output
//   features of `cols` inputs each (GGUF shape [cols, rows]); each row is
//   cols/blockSize blocks. A matrix larger than the binding limit is split by
//   rows across several parts.
// - Calls record into the current command encoder; nothing runs until
//   `submit()`. Reads wait for the queue.

import type { GgmlType } from '../gguf/types';

export interface ActBuffer {
  readonly buffer: GPUBuffer;
  /** Capacity in f32 elements. */
  readonly length: number;
}

export interface WeightPart {
  readonly buffer: GPUBuffer;
  readonly firstRow: number;
  readonly rowCount: number;
}

export interface WeightMatrix {
  readonly name: string;
  readonly type: GgmlType;
  readonly rows: number;
  readonly cols: number;
  readonly parts: readonly WeightPart[];
}

export interface RopeParams {
  nHeads: number;
  headDim: number;
  /** Rotated dimensions per head (<= headDim); the rest pass through. */
  nRot: number;
  /** Position of the first token of the batch. */
  startPos: number;
  freqBase: number;
  /** Linear scaling: positions are multiplied by freqScale. */
  freqScale: number;
  /** false: llama/GPT-J style adjacent pairs (x[2i], x[2i+1]); true: NeoX halves (x[i], x[i+nRot/2]). */
  neox: boolean;
  /** Optional per-pair frequency divisors (llama3 rope scaling, rope_freqs.weight): nRot/2 floats. */
  freqFactors?: GPUBuffer;
  /** Multiplies sin and cos (llama.cpp's attn_factor: phi3 longrope's `rope.scaling.attn_factor`). Default 1. */
  attnFactor?: number;
  /** YaRN: mixes interpolated and extrapolated frequencies over pairs corrLow..corrHigh (see ropeYarnParams). */
  yarn?: RopeYarn;
}

/** Element type of KV cache rows: f32, or f16 pairs packed in u32 words (kvDim / 2 words a row; no `shader-f16` needed). */
export type KvType = 'f32' | 'f16';

/** Arithmetic path of the kernels that have an f16 variant; 'f16' needs the device feature `shader-f16`. */
export type Dtype = 'f32' | 'f16';

/** Bytes of one KV cache element. */
export function kvBytesPerElement(type: KvType): 4 | 2 {
  return type === 'f16' ? 2 : 4;
}

export interface RopeYarn {
  /** 1 for YaRN scaling (llama.cpp's ext_factor). */
  extFactor: number;
  /** Pair indices where the ramp from extrapolation to interpolation starts and ends. */
  corrLow: number;
  corrHigh: number;
}

export interface AttentionParams {
  nTokens: number;
  /** Position of the first query token; query i sees keys 0..startPos+i (causal). */
  startPos: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Usually 1/sqrt(headDim). */
  scale: number;
  /** Sliding window (gemma2/3 local layers): query at p sees keys > p - window. 0 = none. */
  slidingWindow?: number;
  /** Attention logit soft-capping (gemma2): c*tanh(x/c). 0 = none. */
  softcap?: number;
  /** Element type of the caches (default f32). */
  kvType?: KvType;
}

export interface GpuOps {
  readonly device: GPUDevice;
  /**
   * Arithmetic path of the kernels recorded from now on (default f32): f16
   * runs the prefill matmul on f16 tiles (f32 sums) and reads an f16 KV cache
   * as native f16. Setting 'f16' on a device without `shader-f16` throws
   * clw-feature-missing.
   */
  dtype: Dtype;

  /** Start recording (idempotent). */
  begin(): void;
  /** Finish and submit everything recorded since begin(). */
  submit(): void;

  /** out[t, :] = dequant(table row ids[t]) for t < n. ids: u32 buffer. */
  embedRows(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer, n: number): void;
  /** out[r, :] = x[r, :] / sqrt(mean(x[r,:]^2) + eps) * weight[:] for r < nRows; weight has `dim` f32 (or null: no scale). */
  rmsNorm(x: ActBuffer, weight: GPUBuffer | null, out: ActBuffer, nRows: number, dim: number, eps: number): void;
  /** out[t, r] = sum_c W[r, c] * x[t, c] (+ bias[r]); n = 1 uses the matrix-vector kernel. */
  matmul(w: WeightMatrix, x: ActBuffer, out: ActBuffer, n: number, bias?: GPUBuffer): void;
  /** In-place rotary embedding on x (n tokens of nHeads*headDim). */
  rope(x: ActBuffer, n: number, p: RopeParams): void;
  /** Copy n rows of width `width` from src into cache rows startPos.., converted to the cache's kvType (default f32; f16 rounds to nearest even). */
  writeCacheRows(src: ActBuffer, cache: GPUBuffer, startPos: number, n: number, width: number, kvType?: KvType): void;
  /** The reverse: n cache rows from startPos, as f32, into out[0..n*width). */
  readCacheRows(cache: GPUBuffer, startPos: number, n: number, width: number, out: ActBuffer, kvType?: KvType): void;
  /** Causal grouped-query attention of q (n x nHeads*headDim) over caches of nKvHeads*headDim rows. */
  attention(q: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: ActBuffer, p: AttentionParams): void;
  /** out = silu(gate) * up, elementwise over count. */
  siluMul(gate: ActBuffer, up: ActBuffer, out: ActBuffer, count: number): void;
  /** out = gelu_tanh(gate) * up, elementwise over count. */
  geluMul(gate: ActBuffer, up: ActBuffer, out: ActBuffer, count: number): void;
  /** out = a + b, elementwise over count (out may be a). */
  add(a: ActBuffer, b: ActBuffer, out: ActBuffer, count: number): void;
  /** x *= s, elementwise over count. */
  scale(x: ActBuffer, s: number, count: number): void;
  /** x = c * tanh(x / c), elementwise over count (final logit soft-capping). */
  softcap(x: ActBuffer, c: number, count: number): void;
  /** Copy `count` floats from src[srcOffset..] to dst[dstOffset..]. */
  copy(src: ActBuffer, srcOffset: number, dst: ActBuffer, dstOffset: number, count: number): void;

  /** Read `count` floats from src[offset..] (submits pending work first). */
  read(src: ActBuffer, offset: number, count: number): Promise<Float32Array>;
}
