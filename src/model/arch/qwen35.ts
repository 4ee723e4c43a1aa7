// qwen35 (Qwen 3.5 dense): gated delta-net (linear attention) layers and
// gated full-attention layers, 3 : 1 by default. Facts from llama.cpp
// (src/models/qwen35.cpp, delta-net-base.cpp, ggml's ssm_conv,
// gated_delta_net, l2_norm and IMROPE):
// - which layers are recurrent: `attention.recurrent_layers` when present,
//   else layer l is full attention iff (l + 1) % full_attention_interval == 0
//   (default 4); block_count counts the NextN (MTP) blocks after the trunk
//   (`nextn_predict_layers`), which the main pass never runs.
// - a delta-net layer: qkv = W_qkv x -> causal depthwise conv (ssm_conv1d,
//   conv_kernel taps, state of the last taps - 1 inputs) -> SiLU; q, k
//   L2-normalised per head; gate g = softplus(W_alpha x + ssm_dt) * ssm_a,
//   beta = sigmoid(W_beta x); the delta rule per value head (value head h
//   reads key head h % group_count); RMSNorm per head (ssm_norm) times
//   SiLU(W_gate x); ssm_out.
// - a full-attention layer: attn_q yields per head the query and a gate of
//   the same size; q/k RMSNorm per head; IMROPE; attention; times
//   sigmoid(gate); attn_output.
// - every layer: the feed-forward norm is post_attention_norm (no ffn_norm).
//
// IMROPE for text: llama.cpp gives a text token the position p in the first
// three sections and 0 in the fourth, so pair i turns by p * theta_i when
// its section (interleaved: i % sum(sections), see sectionIsText) is one of
// the first three, else not at all. That is NeoX rope with per-pair
// frequency factors of 1 and "infinity" (TEXT_OFF: the angle rounds to 0).

import { ClawError } from '../../errors';
import type { DecodeAttentionParams, DecodeOps, GpuOps, RopeStoreParams, WeightMatrix } from '../../gpu/ops-api';
import type { Hyperparams } from '../hparams';
import type { KvCache } from '../kv-cache';
import type { Scratch } from '../forward';
import type { PlannedTensor } from '../weights';

/** The gated delta-net shape of a qwen35 model (absent for other architectures). */
export interface DeltaNetShape {
  /** ssm.conv_kernel: taps of the causal conv. */
  convKernel: number;
  /** ssm.state_size: head size of the delta-net q, k and v. */
  stateSize: number;
  /** ssm.group_count: q/k heads. */
  kHeads: number;
  /** ssm.time_step_rank: v heads. */
  vHeads: number;
  /** rope.dimension_sections (IMROPE), four entries. */
  ropeSections: number[];
  /** NextN / MTP blocks after the trunk: their tensors are accepted and not loaded. */
  mtpLayers: number;
}

/** Widths that follow from the shape: key (q or k) heads, value heads, and the conv channels. */
export function deltaNetDims(d: DeltaNetShape): { keyDim: number; valueDim: number; convDim: number } {
  const keyDim = d.kHeads * d.stateSize;
  const valueDim = d.vHeads * d.stateSize;
  return { keyDim, valueDim, convDim: 2 * keyDim + valueDim };
}

/**
 * Bytes of a delta-net layer's two state buffers (KvCache.states[l], in this
 * order): the conv state, the last convKernel - 1 inputs of every conv
 * channel; the delta-rule state, stateSize x stateSize per value head. f32.
 */
export function deltaNetStateBytes(d: DeltaNetShape): [conv: number, ssm: number] {
  return [(d.convKernel - 1) * deltaNetDims(d).convDim * 4, d.vHeads * d.stateSize * d.stateSize * 4];
}

/** The subset of hparams-metadata.ts's MetadataReader this module uses. */
interface Metadata {
  positiveInt(name: string, fallback?: number): number;
  num(name: string, fallback?: number): number;
  perLayer(name: string, nLayers: number, fallback: number): number[];
  entry(name: string): { value: unknown } | undefined;
  invalid(name: string, problem: string): Error;
}

function numberArray(m: Metadata, name: string): number[] | undefined {
  const v = m.entry(name)?.value as { values?: unknown[] } | undefined;
  if (v === undefined) return undefined;
  if (!v || !Array.isArray(v.values)) throw m.invalid(name, 'expected an array');
  return v.values.map((x) => (typeof x === 'bigint' ? Number(x) : typeof x === 'boolean' ? Number(x) : (x as number)));
}

/** Reads the delta-net keys and which layers are delta-net; `blockCount` includes the MTP blocks, `nLayers` does not. */
export function readDeltaNet(m: Metadata, blockCount: number): { deltaNet: DeltaNetShape; nLayers: number; recurrentLayers: boolean[] } {
  const mtpLayers = m.num('nextn_predict_layers', 0);
  if (!Number.isInteger(mtpLayers) || mtpLayers < 0 || mtpLayers >= blockCount) throw m.invalid('nextn_predict_layers', `expected an integer in 0..${blockCount - 1}, found ${mtpLayers}`);
  const nLayers = blockCount - mtpLayers;
  const stateSize = m.positiveInt('ssm.state_size');
  const kHeads = m.positiveInt('ssm.group_count');
  const vHeads = m.positiveInt('ssm.time_step_rank');
  if (vHeads % kHeads !== 0) throw m.invalid('ssm.time_step_rank', `${vHeads} value heads are not a multiple of group_count ${kHeads}`);
  const inner = m.positiveInt('ssm.inner_size');
  if (inner !== vHeads * stateSize) throw m.invalid('ssm.inner_size', `${inner} differs from time_step_rank x state_size = ${vHeads * stateSize}`);
  const convKernel = m.positiveInt('ssm.conv_kernel');
  // What shaders/delta_net.wgsl and ssm_conv.wgsl run (every Qwen 3.5 has state size 128 and 4 taps).
  if ((stateSize & (stateSize - 1)) !== 0 || stateSize > 256 || convKernel < 2 || convKernel > 8) {
    throw new ClawError('clw-arch-unsupported', `a delta-net state size of ${stateSize} with ${convKernel} conv taps is not supported (state size a power of two up to 256, 2 to 8 taps)`, {
      details: { stateSize, convKernel },
    });
  }
  const sections = numberArray(m, 'rope.dimension_sections');
  if (!sections || sections.length < 3 || sections.length > 4 || sections.some((s) => !Number.isInteger(s) || s < 0)) {
    throw m.invalid('rope.dimension_sections', 'expected 3 or 4 non-negative integers');
  }
  const ropeSections = [...sections, 0].slice(0, 4);
  // llama.cpp: one flag per block (MTP blocks included), else every interval-th layer is full attention.
  const recurrentLayers = m.entry('attention.recurrent_layers')
    ? m.perLayer('attention.recurrent_layers', blockCount, 0).slice(0, nLayers).map((x) => x !== 0)
    : everyInterval(nLayers, m.positiveInt('full_attention_interval', 4));
  return { deltaNet: { convKernel, stateSize, kHeads, vHeads, ropeSections, mtpLayers }, nLayers, recurrentLayers };
}

/** Layer l is full attention iff (l + 1) % interval == 0. */
function everyInterval(nLayers: number, interval: number): boolean[] {
  return Array.from({ length: nLayers }, (_, l) => (l + 1) % interval !== 0);
}

/** Frequency factor of a pair llama.cpp never turns for text (the fourth section): the angle rounds to 0. */
const TEXT_OFF = 1e30;

/** Whether IMROPE turns pair i of a text token (ggml_mrope_cache_init with positions p, p, p, 0). */
export function sectionIsText(sections: readonly number[], i: number): boolean {
  const total = sections[0] + sections[1] + sections[2] + sections[3];
  const sector = i % total;
  return (sector % 3 === 0 && sector < 3 * sections[0]) || (sector % 3 === 1 && sector < 3 * sections[1]) || (sector % 3 === 2 && sector < 3 * sections[2]);
}

/** Per-pair frequency factors that make NeoX rope equal IMROPE on text positions. */
export function imropeTextFactors(hp: Hyperparams, d: DeltaNetShape): Float32Array {
  return Float32Array.from({ length: hp.ropeDim / 2 }, (_, i) => (sectionIsText(d.ropeSections, i) ? 1 : TEXT_OFF));
}

// ---------------------------------------------------------------------------
// Weights

export interface Qwen35Attention {
  /** attn_q: per head the query rows, then as many gate rows. */
  wqg: WeightMatrix;
  wk: WeightMatrix;
  wv: WeightMatrix;
  wo: WeightMatrix;
  qNorm: GPUBuffer;
  kNorm: GPUBuffer;
}

export interface Qwen35DeltaNet {
  wqkv: WeightMatrix;
  /** attn_gate: the z of the gated RMSNorm. */
  wz: WeightMatrix;
  wAlpha: WeightMatrix;
  wBeta: WeightMatrix;
  /** ssm_conv1d as f32, channels x taps. */
  conv: GPUBuffer;
  dtBias: GPUBuffer;
  a: GPUBuffer;
  norm: GPUBuffer;
  wOut: WeightMatrix;
}

export interface Qwen35Layer {
  attnNorm: GPUBuffer;
  /** post_attention_norm: the feed-forward block's input norm. */
  ffnNorm: GPUBuffer;
  wGate: WeightMatrix;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
  attention?: Qwen35Attention;
  deltaNet?: Qwen35DeltaNet;
}

/** The trunk's tensors as llama.cpp's loader names and shapes them (GGUF order [cols, rows]); MTP blocks are left out. */
export function qwen35TensorPlan(hp: Hyperparams, d: DeltaNetShape): PlannedTensor[] {
  const { nEmbd, nHeads, headDim, kvDim, nFf, nVocab } = hp;
  const qDim = nHeads * headDim;
  const { valueDim, convDim } = deltaNetDims(d);
  const plan: PlannedTensor[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], kind: 'matrix' },
    { name: 'output_norm.weight', shape: [nEmbd], kind: 'vector' },
    { name: 'output.weight', shape: [nEmbd, nVocab], kind: 'matrix', optional: true },
  ];
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    plan.push({ name: `${b}attn_norm.weight`, shape: [nEmbd], kind: 'vector' }, { name: `${b}post_attention_norm.weight`, shape: [nEmbd], kind: 'vector' });
    if (hp.recurrentLayers[l]) {
      plan.push(
        { name: `${b}attn_qkv.weight`, shape: [nEmbd, convDim], kind: 'matrix' },
        { name: `${b}attn_gate.weight`, shape: [nEmbd, valueDim], kind: 'matrix' },
        { name: `${b}ssm_conv1d.weight`, shape: [d.convKernel, convDim], kind: 'vector' },
        { name: `${b}ssm_dt.bias`, shape: [d.vHeads], kind: 'vector' },
        { name: `${b}ssm_a`, shape: [d.vHeads], kind: 'vector' },
        { name: `${b}ssm_beta.weight`, shape: [nEmbd, d.vHeads], kind: 'matrix' },
        { name: `${b}ssm_alpha.weight`, shape: [nEmbd, d.vHeads], kind: 'matrix' },
        { name: `${b}ssm_norm.weight`, shape: [d.stateSize], kind: 'vector' },
        { name: `${b}ssm_out.weight`, shape: [valueDim, nEmbd], kind: 'matrix' },
      );
    } else {
      plan.push(
        { name: `${b}attn_q.weight`, shape: [nEmbd, 2 * qDim], kind: 'matrix' },
        { name: `${b}attn_k.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
        { name: `${b}attn_v.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
        { name: `${b}attn_output.weight`, shape: [qDim, nEmbd], kind: 'matrix' },
        { name: `${b}attn_q_norm.weight`, shape: [headDim], kind: 'vector' },
        { name: `${b}attn_k_norm.weight`, shape: [headDim], kind: 'vector' },
      );
    }
    plan.push(
      { name: `${b}ffn_gate.weight`, shape: [nEmbd, nFf], kind: 'matrix' },
      { name: `${b}ffn_up.weight`, shape: [nEmbd, nFf], kind: 'matrix' },
      { name: `${b}ffn_down.weight`, shape: [nFf, nEmbd], kind: 'matrix' },
    );
  }
  return plan;
}

/** The layers from the uploaded slots (names as in qwen35TensorPlan). */
export function assembleQwen35Layers(hp: Hyperparams, slots: ReadonlyMap<string, WeightMatrix | GPUBuffer | number>): Qwen35Layer[] {
  const m = (name: string) => slots.get(name) as WeightMatrix;
  const v = (name: string) => slots.get(name) as GPUBuffer;
  return Array.from({ length: hp.nLayers }, (_, l) => {
    const b = `blk.${l}.`;
    const layer: Qwen35Layer = {
      attnNorm: v(`${b}attn_norm.weight`),
      ffnNorm: v(`${b}post_attention_norm.weight`),
      wGate: m(`${b}ffn_gate.weight`),
      wUp: m(`${b}ffn_up.weight`),
      wDown: m(`${b}ffn_down.weight`),
    };
    if (hp.recurrentLayers[l]) {
      layer.deltaNet = {
        wqkv: m(`${b}attn_qkv.weight`),
        wz: m(`${b}attn_gate.weight`),
        wAlpha: m(`${b}ssm_alpha.weight`),
        wBeta: m(`${b}ssm_beta.weight`),
        conv: v(`${b}ssm_conv1d.weight`),
        dtBias: v(`${b}ssm_dt.bias`),
        a: v(`${b}ssm_a`),
        norm: v(`${b}ssm_norm.weight`),
        wOut: m(`${b}ssm_out.weight`),
      };
    } else {
      layer.attention = {
        wqg: m(`${b}attn_q.weight`),
        wk: m(`${b}attn_k.weight`),
        wv: m(`${b}attn_v.weight`),
        wo: m(`${b}attn_output.weight`),
        qNorm: v(`${b}attn_q_norm.weight`),
        kNorm: v(`${b}attn_k_norm.weight`),
      };
    }
    return layer;
  });
}

// ---------------------------------------------------------------------------
// Scratch

type DeltaNetScratch = Required<Pick<Scratch, 'conv' | 'z' | 'alpha' | 'beta' | 'qg' | 'recurrentOut'>>;

/** The activation buffers a qwen35 model adds to the scratch, in f32 elements for a batch of `capacity` (none without a delta-net). */
export function deltaNetScratchLengths(hp: Hyperparams, capacity: number): Record<keyof DeltaNetScratch, number> | Record<string, never> {
  const d = hp.deltaNet;
  if (!d) return {};
  const { valueDim, convDim } = deltaNetDims(d);
  return {
    conv: capacity * convDim,
    z: capacity * valueDim,
    alpha: capacity * d.vHeads,
    beta: capacity * d.vHeads,
    qg: capacity * 2 * hp.nHeads * hp.headDim,
    recurrentOut: capacity * valueDim,
  };
}

// ---------------------------------------------------------------------------
// The forward pass of one layer (the batch path; decode runs it with n = 1)

/** What the qwen35 layer needs of forward.ts (passed in to keep one source of the rope and attention settings). */
export interface Qwen35Context {
  rope: Parameters<GpuOps['rope']>[2];
  attention: Omit<Parameters<GpuOps['attention']>[4], 'nTokens' | 'startPos'>;
}

/**
 * Layer l over n tokens at startPos..: the attention block (delta-net or
 * gated full attention) and the feed-forward block, on the residual stream
 * s.x. The recurrent state continues from where the previous pass left it
 * (the KV cache clears it before a pass at position 0: KvCache.beginPass).
 */
export function recordQwen35Layer(ops: GpuOps, hp: Hyperparams, layer: Qwen35Layer, kv: KvCache, s: Scratch, l: number, n: number, startPos: number, c: Qwen35Context): void {
  const { nEmbd, nHeads, nKvHeads, headDim, kvDim, nFf, rmsEps } = hp;
  const extra = deltaNetScratch(s);
  ops.rmsNorm(s.x, layer.attnNorm, s.xb, n, nEmbd, rmsEps);
  if (layer.deltaNet) recordDeltaNet(ops, hp, layer.deltaNet, kv, s, extra, l, n, startPos);
  else {
    const a = layer.attention!;
    const qCount = n * nHeads * headDim;
    ops.matmul(a.wqg, s.xb, extra.qg, n);
    ops.gatedAttention(extra.qg, s.q, qCount, headDim, false);
    ops.matmul(a.wk, s.xb, s.k, n);
    ops.matmul(a.wv, s.xb, s.v, n);
    ops.rmsNorm(s.q, a.qNorm, s.q, n * nHeads, headDim, rmsEps);
    ops.rmsNorm(s.k, a.kNorm, s.k, n * nKvHeads, headDim, rmsEps);
    ops.rope(s.q, n, { ...c.rope, startPos, nHeads });
    ops.rope(s.k, n, { ...c.rope, startPos, nHeads: nKvHeads });
    ops.writeCacheRows(s.k, kv.keys[l], startPos, n, kvDim, kv.kvType);
    ops.writeCacheRows(s.v, kv.values[l], startPos, n, kvDim, kv.kvType);
    ops.attention(s.q, kv.keys[l], kv.values[l], s.attn, { nTokens: n, startPos, ...c.attention });
    ops.gatedAttention(extra.qg, s.attn, qCount, headDim, true);
    ops.matmul(a.wo, s.attn, s.xb, n);
  }
  ops.add(s.x, s.xb, s.x, n * nEmbd);
  ops.rmsNorm(s.x, layer.ffnNorm, s.xb, n, nEmbd, rmsEps);
  ops.matmul(layer.wGate, s.xb, s.gate, n);
  ops.matmul(layer.wUp, s.xb, s.up, n);
  ops.siluMul(s.gate, s.up, s.gate, n * nFf);
  ops.matmul(layer.wDown, s.gate, s.xb, n);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
}

// ---------------------------------------------------------------------------
// One token through a layer, as the decode pass records it (fused kernels)

/**
 * Where the decode pass keeps a delta-net layer's projections in scratch.qkv:
 * the conv's q, k, v from 0, then z, alpha and beta (floats).
 */
function deltaNetTokenLayout(d: DeltaNetShape): { z: number; alpha: number; beta: number; end: number } {
  const { valueDim, convDim } = deltaNetDims(d);
  return { z: convDim, alpha: convDim + valueDim, beta: convDim + valueDim + d.vHeads, end: convDim + valueDim + 2 * d.vHeads };
}

/** Floats of scratch.qkv the decode pass needs: a full-attention layer's [q | k | v | gates] or a delta-net layer's projections. */
export function qwen35TokenWidth(hp: Hyperparams): number {
  const d = hp.deltaNet;
  if (!d) throw new Error('qwen35TokenWidth needs the delta-net shape');
  return Math.max(2 * hp.nHeads * hp.headDim + 2 * hp.kvDim, deltaNetTokenLayout(d).end);
}

/** What recordQwen35Token needs of forward.ts: the layer's rope of q and k (with the cache write) and its attention. */
export interface Qwen35TokenContext {
  rope: RopeStoreParams;
  attention: DecodeAttentionParams;
}

/**
 * Layer l for the decode step's token, on the residual stream s.x: the
 * same math as recordQwen35Layer with n = 1, in the decode pass's fused
 * kernels (5 dispatches a delta-net layer, 6 an attention layer).
 * - delta-net: the attention norm folded into one projection of W_qkv,
 *   W_gate (z), W_alpha and W_beta into scratch.qkv, the conv and SiLU in
 *   its epilogue; the delta rule with the gated RMSNorm folded in; ssm_out
 *   with the residual add.
 * - full attention: the norm folded into q/gate, k and v, attn_q's query
 *   rows to [0, qDim) and its gate rows after k and v; q/k norms, rope and
 *   the cache write folded into attention, the sigmoid gate into its merge;
 *   attn_output with the residual add.
 * Then the feed-forward block: norm, gate, up and SiLU in one kernel, the
 * down projection with the residual add.
 */
export function recordQwen35Token(ops: DecodeOps, hp: Hyperparams, layer: Qwen35Layer, kv: KvCache, s: Scratch, l: number, c: Qwen35TokenContext): void {
  const eps = hp.rmsEps;
  const norm = { weight: layer.attnNorm, eps };
  if (layer.deltaNet) {
    const d = hp.deltaNet!;
    const w = layer.deltaNet;
    const [convState, ssmState] = kv.states[l] ?? [];
    if (!convState || !ssmState) throw new ClawError('clw-llm-crash', `layer ${l} has no recurrent state`);
    const at = deltaNetTokenLayout(d);
    // The conv (and its SiLU) on attn_qkv's rows, in the projection's epilogue.
    ops.project(
      s.x,
      [
        { w: w.wqkv, outOffset: 0 },
        { w: w.wz, outOffset: at.z },
        { w: w.wAlpha, outOffset: at.alpha },
        { w: w.wBeta, outOffset: at.beta },
      ],
      s.qkv,
      { norm, conv: { weight: w.conv, state: convState, taps: d.convKernel } },
    );
    const out = deltaNetScratch(s).recurrentOut;
    ops.deltaNetStep(s.qkv, w.dtBias, w.a, ssmState, w.norm, out, {
      nKHeads: d.kHeads,
      nVHeads: d.vHeads,
      stateSize: d.stateSize,
      eps,
      zOffset: at.z,
      alphaOffset: at.alpha,
      betaOffset: at.beta,
    });
    ops.project(out, [{ w: w.wOut, outOffset: 0 }], s.x, { accumulate: true });
  } else {
    const a = layer.attention!;
    const qDim = hp.nHeads * hp.headDim;
    const gates = qDim + 2 * hp.kvDim;
    ops.project(
      s.x,
      [
        { w: a.wqg, outOffset: 0, split: { every: hp.headDim, out: gates } },
        { w: a.wk, outOffset: qDim },
        { w: a.wv, outOffset: qDim + hp.kvDim },
      ],
      s.qkv,
      { norm },
    );
    ops.ropeAndStore(s.qkv, kv.keys[l], kv.values[l], { ...c.rope, qNorm: a.qNorm, kNorm: a.kNorm, eps });
    ops.attend(s.qkv, kv.keys[l], kv.values[l], s.attn, { ...c.attention, outputGate: gates });
    ops.project(s.attn, [{ w: a.wo, outOffset: 0 }], s.x, { accumulate: true });
  }
  ops.gatedProject(s.x, { weight: layer.ffnNorm, eps }, layer.wGate, layer.wUp, s.gate, 'silu');
  ops.project(s.gate, [{ w: layer.wDown, outOffset: 0 }], s.x, { accumulate: true });
}

function deltaNetScratch(s: Scratch): DeltaNetScratch {
  const { conv, z, alpha, beta, qg, recurrentOut } = s;
  if (!conv || !z || !alpha || !beta || !qg || !recurrentOut) throw new Error('the scratch has no delta-net buffers');
  return { conv, z, alpha, beta, qg, recurrentOut };
}

/** The delta-net block: projections, conv, the delta-rule scan, gated RMSNorm, output projection into s.xb. */
function recordDeltaNet(ops: GpuOps, hp: Hyperparams, w: Qwen35DeltaNet, kv: KvCache, s: Scratch, e: DeltaNetScratch, l: number, n: number, startPos: number): void {
  const d = hp.deltaNet!;
  // The buffers of deltaNetStateBytes, in its order.
  const [convState, ssmState] = kv.states[l] ?? [];
  if (!convState || !ssmState) throw new ClawError('clw-llm-crash', `layer ${l} has no recurrent state`);
  const { valueDim, convDim } = deltaNetDims(d);
  ops.matmul(w.wqkv, s.xb, e.conv, n);
  ops.matmul(w.wz, s.xb, e.z, n);
  ops.matmul(w.wAlpha, s.xb, e.alpha, n);
  ops.matmul(w.wBeta, s.xb, e.beta, n);
  ops.ssmConv(e.conv, convState, w.conv, { nTokens: n, channels: convDim, kernel: d.convKernel, startPos });
  const o = e.recurrentOut;
  ops.deltaNet(e.conv, e.alpha, e.beta, w.dtBias, w.a, ssmState, o, {
    nTokens: n,
    nKHeads: d.kHeads,
    nVHeads: d.vHeads,
    stateSize: d.stateSize,
    rowStride: convDim,
    eps: hp.rmsEps,
    startPos,
  });
  ops.rmsNorm(o, w.norm, o, n * d.vHeads, d.stateSize, hp.rmsEps);
  ops.siluMul(e.z, o, o, n * valueDim);
  ops.matmul(w.wOut, o, s.xb, n);
}
