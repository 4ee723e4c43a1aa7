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

import { ClawError } from '../errors';
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
  /**
   * Query temperature (mistral3): rows are also multiplied by
   * 1 + scale * ln(floor(pos / length) + 1). Given for q only; the rotated
   * dimensions only (mistral3 rotates whole heads).
   */
  temperature?: { scale: number; length: number };
}

/** sin/cos multiplier: the attention factor, times YaRN's magnitude correction as ggml applies it. */
export function ropeMscale(p: Pick<RopeParams, 'attnFactor' | 'yarn' | 'freqScale'>): number {
  const f = Math.fround;
  let mscale = f(p.attnFactor ?? 1);
  if (p.yarn && p.yarn.extFactor !== 0) mscale = f(mscale * f(1 + f(0.1 * f(Math.log(f(1 / p.freqScale))))));
  return mscale;
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

/** A matrix of a fused projection: its rows go to out[outOffset ..], plus its optional bias. */
export interface Projection {
  w: WeightMatrix;
  outOffset: number;
  bias?: GPUBuffer;
  /**
   * The rows alternate, `every` at a time, between outOffset and `out`, packed
   * at each (qwen35's attn_q: per head its query rows, then its gate rows).
   * Only for the first projection of a call, on a matrix of one part.
   */
  split?: { every: number; out: number };
}

/** Rope of q and k and the KV-cache write of the decode step (position from the step buffer). */
export interface RopeStoreParams extends Omit<RopeParams, 'nHeads' | 'startPos'> {
  nHeads: number;
  nKvHeads: number;
  /** Per-head RMSNorm of q and k before the rotation (qwen3, gemma3): headDim floats each. */
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  /** gemma4: an RMSNorm without weight of each v head before the cache write. */
  vNorm?: boolean;
  /** gemma4's layers that reuse an earlier layer's cache: q only (the cache already holds the step's row). */
  sharedKv?: boolean;
  eps: number;
  kvType?: KvType;
}

export interface SsmConvParams {
  nTokens: number;
  channels: number;
  /** Taps per channel (ssm.conv_kernel), at most 8. */
  kernel: number;
  /** Positions the state has absorbed before the first token (which of its halves is read: shaders/state_halves.wgsl). */
  startPos: number;
}

export interface DeltaNetParams {
  nTokens: number;
  nKHeads: number;
  nVHeads: number;
  /** Head size of q, k and v (ssm.state_size): a power of two up to 256. */
  stateSize: number;
  /** Floats per token of qkv (2 * nKHeads * stateSize + nVHeads * stateSize). */
  rowStride: number;
  /** The L2 norm's floor (llama.cpp passes the RMS epsilon). */
  eps: number;
  /** Positions the state has absorbed before the first token (which of its halves is read: shaders/state_halves.wgsl). */
  startPos: number;
}

/** DecodeOps.deltaNetStep: one token's delta rule, where its inputs lie in one buffer, and the gated RMSNorm's epsilon. */
export interface DeltaNetStepParams extends Omit<DeltaNetParams, 'nTokens' | 'rowStride' | 'startPos'> {
  /** Offsets (floats) of z (nVHeads * stateSize), alpha and beta (nVHeads each) in p. */
  zOffset: number;
  alphaOffset: number;
  betaOffset: number;
}

export type DecodeAttentionParams = Omit<AttentionParams, 'nTokens' | 'startPos'>;

/**
 * The fused kernels of the one-token decode pass. Calls record dispatches
 * once (bind groups, parameters and pipelines made now); the decode pass
 * replays them every token, with the position read from its step buffer
 * (which also picks the halves of a recurrent state: shaders/state_halves.wgsl).
 */
export interface DecodeOps {
  /** out[p.outOffset + r] (+)= W_p[r] . in (+ bias), in = x or rmsnorm(x) * norm.weight, for every projection p (several per dispatch). */
  project(x: ActBuffer, projections: readonly Projection[], out: ActBuffer, o?: import('./decode-matvec').ProjectOptions): void;
  /** out[r] = act(W_gate[r] . in) * (W_up[r] . in), in = rmsnorm(x) * norm.weight. */
  gatedProject(x: ActBuffer, norm: { weight: GPUBuffer; eps: number }, gate: WeightMatrix, up: WeightMatrix, out: ActBuffer, activation: 'silu' | 'gelu'): void;
  /** Per head of qkv = [q | k | v]: q/k norms, rope of q and k, k and v into the caches' row at the step's position. */
  ropeAndStore(qkv: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, p: RopeStoreParams): void;
  /**
   * Attention of the step's query (the start of qkv) over the cache rows up to
   * the step's position, into out; with outputGate (qwen35), out is then
   * multiplied by sigmoid(qkv[outputGate + i]).
   */
  attend(qkv: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: ActBuffer, p: DecodeAttentionParams & { outputGate?: number }): void;
  /** x = (x + rmsnorm(y) * weight) * scale over one row of `dim` (scale: gemma4's layer_output_scale, default 1). */
  addNormed(x: ActBuffer, y: ActBuffer, weight: GPUBuffer, dim: number, eps: number, scale?: number): void;
  /**
   * gemma4's per-layer inputs, every layer at once, in place:
   * proj[l] = (rmsnorm(proj[l] / sqrt(nEmbd)) * projNorm + rows[l] * rowsScale) / sqrt(2),
   * proj and rows layer-major (nLayers x nPerLayer); rowsScale default 1.
   */
  perLayerInputs(proj: ActBuffer, rows: ActBuffer, projNorm: GPUBuffer, p: { nLayers: number; nPerLayer: number; nEmbd: number; eps: number; rowsScale?: number }): void;
  /**
   * lfm2's gated short convolution of one token: bcx holds in_proj's output
   * [b | c | x] (3 x channels); b becomes c * conv(b * x), continuing `state`.
   */
  shortConv(bcx: ActBuffer, kernel: GPUBuffer, state: GPUBuffer, channels: number, width: number): void;
  /**
   * qwen35's gated delta rule for one token, then its gated RMSNorm: p holds
   * the conv's q, k, v (from 0), z, alpha and beta (at the offsets given);
   * out = rmsnorm(S^T q / sqrt(S_dim)) * norm * silu(z) per value head.
   */
  deltaNetStep(p: ActBuffer, dt: GPUBuffer, a: GPUBuffer, state: GPUBuffer, norm: GPUBuffer, out: ActBuffer, params: DeltaNetStepParams): void;
  /** out = dequant(table row ids[0]). */
  embed(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer): void;
  /** x *= s over count. */
  scale(x: ActBuffer, s: number, count: number): void;
}

/** A decode recording: DecodeOps, then the dispatch list and the buffers it made. */
export interface DecodeRecording extends DecodeOps {
  /** Attention windows in the order of their indirect records in the step buffer. */
  readonly windows: readonly number[];
  /** Most workgroups per dispatch (the kernels loop over the rest); Infinity on GPUs. */
  readonly maxWorkgroups: number;
  /** Attention's first pass takes a thread per (head, chunk), WG threads a workgroup (else a workgroup per chunk and head). */
  readonly attentionByCell: boolean;
  /** The recorded dispatches' kernels (hashes of their text) and grids, in order: equal for two recordings that dispatch the same pipelines alike. */
  signature(): string;
  /** Compiles every pipeline the recorded calls need, in parallel (else finish() compiles them one by one). */
  compile(): Promise<void>;
  finish(): import('./recorded').RecordedDispatch[];
  free(): void;
}

export interface GpuOps {
  readonly device: GPUDevice;
  /** The clw-device-lost error once the device is gone (a failed read then reports it instead of its own error). */
  readonly lost: import('../errors').ClawError | undefined;
  /** Resolves with that error when the device is lost (some implementations fail a map before they report the loss). */
  readonly whenLost: Promise<import('../errors').ClawError>;
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

  /**
   * out[t, :] = dequant(table row ids[t]) for t < n. ids: u32 buffer. With
   * `group` (a multiple of 4 dividing the row), each row's columns go
   * group-major instead: out[g, t, :] = its columns g * group ...
   */
  embedRows(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer, n: number, group?: number): void;
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
  /**
   * lfm2's gated short convolution of n tokens over `channels`: b = c * conv(b * x)
   * in place, the causal conv of width L = kernel / channels continuing from
   * `state` (the last L - 1 inputs per channel, in the half that `startPos`
   * positions picks: shaders/state_halves.wgsl), which it moves on.
   */
  shortConv(b: ActBuffer, c: ActBuffer, x: ActBuffer, kernel: GPUBuffer, state: GPUBuffer, n: number, channels: number, width: number, startPos: number): void;
  /** out = a + b, elementwise over count (out may be a). */
  add(a: ActBuffer, b: ActBuffer, out: ActBuffer, count: number): void;
  /** x *= s, elementwise over count. */
  scale(x: ActBuffer, s: number, count: number): void;
  /** x = c * tanh(x / c), elementwise over count (final logit soft-capping). */
  softcap(x: ActBuffer, c: number, count: number): void;
  /** Copy `count` floats from src[srcOffset..] to dst[dstOffset..]. */
  copy(src: ActBuffer, srcOffset: number, dst: ActBuffer, dstOffset: number, count: number): void;
  /** Gated delta-net (qwen35): causal depthwise conv + SiLU over n tokens of `channels`, in place on x, carrying `state` (shaders/ssm_conv.wgsl). */
  ssmConv(x: ActBuffer, state: GPUBuffer, weight: GPUBuffer, p: SsmConvParams): void;
  /** Gated delta-net (qwen35): the delta-rule scan over n tokens per value head, carrying `state` (shaders/delta_net.wgsl). */
  deltaNet(qkv: ActBuffer, alpha: ActBuffer, beta: ActBuffer, dt: GPUBuffer, a: GPUBuffer, state: GPUBuffer, out: ActBuffer, p: DeltaNetParams): void;
  /** Gated attention (qwen35): qg holds per head the query then its gate; gate false copies the queries into x, true multiplies x by sigmoid(gate). */
  gatedAttention(qg: ActBuffer, x: ActBuffer, count: number, headDim: number, gate: boolean): void;

  /**
   * Starts recording a decode pass: its buffers come from `allocator` (the
   * model's scope), `step` is its step buffer, `capacity` the KV cache's
   * positions (sizes attention's scratch), `matvec` a tuning (for every
   * projection or per site) in place of the ops' own (clw-bad-request if
   * the device cannot take it).
   */
  recordDecode(allocator: import('./allocator').GpuAllocator, step: GPUBuffer, capacity: number, attention: { nHeads: number; headDim: number }, matvec?: import('./matvec-tuning').MatvecChoice): DecodeRecording;

  /**
   * The matvec tunings the decode pass times at load to pick its own
   * (GpuOpsOptions.matvec 'auto'; src/gpu/matvec-autotune.ts), or null: the
   * pass runs the ops' tuning.
   */
  readonly matvecAutotune: readonly import('./matvec-tuning').MatvecTuningCase[] | null;
  /** Where the search keeps its choices (GpuOpsOptions.matvecStore), or null. */
  readonly matvecStore: import('./matvec-memory').MatvecChoiceStore | null;
  /** GpuOpsOptions.matvecRemeasure. */
  readonly matvecRemeasure: boolean;
  /** The adapter, its features and limits, and the kernel family, for the key of a kept choice (src/gpu/matvec-memory.ts). */
  readonly matvecSearchContext: string;

  /**
   * Compiles, in parallel and off the calling thread, every kernel that
   * `record` would dispatch; `record` runs with nothing encoded or allocated.
   * At load, so the first prompt and token compile nothing.
   */
  precompile(record: () => void): Promise<void>;

  /** Read `count` floats from src[offset..] (submits pending work first). */
  read(src: ActBuffer, offset: number, count: number): Promise<Float32Array>;
}

/**
 * The device's loss, if it is lost: reported at once, or within `ms` (an
 * implementation may fail calls and error scopes before it reports the
 * loss, as wgpu does). Undefined when the device is fine.
 */
export async function reportedLoss(ops: GpuOps, ms = 1000): Promise<import('../errors').ClawError | undefined> {
  if (ops.lost) return ops.lost;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([ops.whenLost, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** clw-bad-request: a call the kernels cannot take (a wrong shape, size or option). */
export function badRequest(message: string): ClawError {
  return new ClawError('clw-bad-request', message);
}

/** Throws clw-bad-request when `buf` holds fewer than `needed` floats. */
export function requireCapacity(buf: ActBuffer, needed: number, what: string): void {
  if (needed > buf.length) throw badRequest(`${what}: needs ${needed} floats, the buffer holds ${buf.length}`);
}
