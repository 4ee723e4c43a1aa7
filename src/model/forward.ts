// The forward pass. Reads like the math: per layer rmsnorm, q/k/v, rope,
// attention, output projection, residual, rmsnorm, gated feed-forward,
// residual; then the final norm and the classifier. The architecture
// variants are the optional steps (biases, q/k norms, post-norms, GELU,
// soft-capping, sliding windows), each taken when the model has it.
// Kernels are named calls on GpuOps; the GPU plumbing lives in src/gpu/.

import { ClawError } from '../errors';
import type { ActBuffer, DecodeAttentionParams, DecodeOps, GpuOps, RopeParams, RopeStoreParams, RopeYarn, WeightMatrix } from '../gpu/ops-api';
import { layerAttention, type Hyperparams } from './hparams';
import type { LayerWeights, ModelWeights } from './weights';
import type { KvCache } from './kv-cache';
import { recordShortConv, recordShortConvToken } from './arch/lfm2';
import { recordGemma4Embedding, recordGemma4Layer, recordGemma4Token, recordGemma4TokenInputs } from './arch/gemma4';
import { recordQwen35Layer, recordQwen35Token } from './arch/qwen35';

/** Activation buffers for a batch of up to `capacity` tokens, allocated once. */
export interface Scratch {
  capacity: number;
  ids: GPUBuffer;
  x: ActBuffer; // residual stream [B, nEmbd]
  xb: ActBuffer; // normed input / projection output [B, max(nEmbd, nHeads*headDim)]
  q: ActBuffer; // [B, nHeads*headDim]
  k: ActBuffer; // [B, kvDim]
  v: ActBuffer; // [B, kvDim]
  attn: ActBuffer; // [B, nHeads*headDim]
  gate: ActBuffer; // [B, nFf]
  up: ActBuffer; // [B, nFf]
  last: ActBuffer; // [nEmbd]: the last token's hidden state
  logits: ActBuffer; // [nVocab]
  qkv: ActBuffer; // [nHeads*headDim + 2*kvDim]: one token's q, k, v side by side (the decode pass)
  // gemma4's per-layer inputs (arch/gemma4.ts): the scaled token embeddings, one layer's input, the table rows of every layer.
  pleInput?: ActBuffer; // [B, nEmbd]
  pleProj?: ActBuffer; // [B, nEmbdPerLayer]
  pleRows?: ActBuffer; // [nLayers, B, nEmbdPerLayer]
  // qwen35 only (absent otherwise; sizes in arch/qwen35.ts deltaNetScratchLengths):
  conv?: ActBuffer; // [B, convDim]: delta-net q, k, v before and after the conv
  z?: ActBuffer; // [B, valueDim]: the gated RMSNorm's gate
  alpha?: ActBuffer; // [B, vHeads]
  beta?: ActBuffer; // [B, vHeads]
  qg?: ActBuffer; // [B, 2*nHeads*headDim]: gated attention's queries and gates
  recurrentOut?: ActBuffer; // [B, valueDim]: the delta rule's output
}

/** Rope settings of layer l (its own base and scale where local layers differ). */
function ropeParams(hp: Hyperparams, w: ModelWeights, l: number, startPos: number): Omit<RopeParams, 'nHeads'> {
  const { freqBase, freqScale } = layerAttention(hp, l);
  const yarn = hp.ropeScaling.type === 'yarn' ? yarnParams(hp, freqBase, freqScale) : undefined;
  return {
    headDim: hp.headDim,
    nRot: hp.ropeDim,
    startPos,
    freqBase,
    freqScale,
    neox: hp.traits.ropeNeox,
    freqFactors: w.ropeFreqs,
    attnFactor: yarn ? yarn.attnFactor : hp.ropeScaling.attnFactor,
    yarn,
  };
}

/** Attention of layer l: heads, scale, its window (gemma's local layers), soft-cap, the cache's element type. */
function attentionParams(hp: Hyperparams, kv: KvCache, l: number): DecodeAttentionParams {
  return {
    nHeads: hp.nHeads,
    nKvHeads: hp.nKvHeads,
    headDim: hp.headDim,
    scale: hp.attnScale,
    slidingWindow: layerAttention(hp, l).window,
    softcap: hp.attnSoftcap,
    kvType: kv.kvType,
  };
}

/**
 * YaRN as llama.cpp sets it up (llama-context.cpp, ggml_rope_yarn_corr_dims):
 * extrapolate pairs that turn fewer than beta_fast (32) times over the
 * original context, interpolate those turning more than beta_slow (1) times,
 * ramp between; the attention factor cancels the kernel's magnitude
 * correction except for `rope.scaling.attn_factor` and, with a YaRN log
 * multiplier m (mistral3), get_mscale(factor, 1) / get_mscale(factor, m).
 */
function yarnParams(hp: Hyperparams, freqBase: number, freqScale: number): RopeYarn & { attnFactor: number } {
  const f = Math.fround;
  const nDims = hp.ropeDim;
  const { originalContext: nCtxOrig, yarnBetaFast, yarnBetaSlow, yarnLogMul } = hp.ropeScaling;
  const corrDim = (beta: number) => f((nDims * Math.log(nCtxOrig / (beta * 2 * Math.PI))) / (2 * Math.log(freqBase)));
  const factor = f(1 / freqScale);
  const getMscale = (m: number) => (factor <= 1 ? 1 : f(f(0.1 * m * Math.log(factor)) + 1));
  const mscale = yarnLogMul !== 0 ? f(getMscale(1) / getMscale(yarnLogMul)) : getMscale(1);
  return {
    extFactor: 1,
    corrLow: Math.max(0, Math.floor(corrDim(yarnBetaFast))),
    corrHigh: Math.min(nDims - 1, Math.ceil(corrDim(yarnBetaSlow))),
    attnFactor: f(f(mscale / f(1 + f(0.1 * Math.log(factor)))) * hp.ropeScaling.attnFactor),
  };
}

/** The attention projections of layer l (a short-convolution layer has none). */
function attentionMatrices(layer: LayerWeights, l: number): { wq: WeightMatrix; wk: WeightMatrix; wv: WeightMatrix; wo: WeightMatrix } {
  const { wq, wk, wv, wo } = layer;
  if (!wq || !wk || !wv || !wo) throw new ClawError('clw-llm-crash', `layer ${l} has no attention weights`);
  return { wq, wk, wv, wo };
}

/** Layer l of the model over n tokens, whichever kind it is: qwen35's hybrid layers, gemma4's, or the common transformer block (with lfm2's convolutions). */
export function recordBlock(ops: GpuOps, hp: Hyperparams, w: ModelWeights, kv: KvCache, s: Scratch, l: number, n: number, startPos: number): void {
  if (w.qwen35) {
    const { startPos: _position, ...rope } = ropeParams(hp, w, l, 0);
    return recordQwen35Layer(ops, hp, w.qwen35[l], kv, s, l, n, startPos, { rope: { ...rope, startPos, nHeads: hp.nHeads }, attention: attentionParams(hp, kv, l) });
  }
  if (hp.gemma4) return recordGemma4Layer(ops, hp, w, w.layers[l], kv, s, l, n, startPos);
  recordLayer(ops, hp, w, w.layers[l], kv, s, l, n, startPos);
}

/** x = embedding rows of the n token ids in scratch.ids (times sqrt(nEmbd) for gemma). */
export function recordEmbedding(ops: GpuOps, hp: Hyperparams, w: ModelWeights, s: Scratch, n: number): void {
  ops.embedRows(w.tokenEmbd, s.ids, s.x, n);
  if (hp.embedScale !== 1) ops.scale(s.x, hp.embedScale, n * hp.nEmbd);
  if (hp.gemma4) recordGemma4Embedding(ops, hp, w, s, n);
}

/**
 * One transformer block over n tokens at positions startPos..: appends their
 * keys and values to layer l of the cache and updates the residual stream.
 */
function recordLayer(ops: GpuOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number, n: number, startPos: number): void {
  const { nEmbd, nFf, rmsEps } = hp;
  // Attention block (or lfm2's short convolution, continuing its state).
  ops.rmsNorm(s.x, layer.attnNorm, s.xb, n, nEmbd, rmsEps);
  const state = kv.states[l];
  if (layer.shortConv && state) recordShortConv(ops, hp, layer.shortConv, state[0], s, n, startPos);
  else recordAttention(ops, hp, w, layer, kv, s, l, n, startPos);
  if (layer.attnPostNorm) ops.rmsNorm(s.xb, layer.attnPostNorm, s.xb, n, nEmbd, rmsEps);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
  // Feed-forward block (SwiGLU, or GELU-gated for gemma).
  ops.rmsNorm(s.x, layer.ffnNorm, s.xb, n, nEmbd, rmsEps);
  ops.matmul(layer.wGate, s.xb, s.gate, n);
  ops.matmul(layer.wUp, s.xb, s.up, n);
  if (hp.traits.ffnActivation === 'gelu') ops.geluMul(s.gate, s.up, s.gate, n * nFf);
  else ops.siluMul(s.gate, s.up, s.gate, n * nFf);
  ops.matmul(layer.wDown, s.gate, s.xb, n);
  if (layer.ffnPostNorm) ops.rmsNorm(s.xb, layer.ffnPostNorm, s.xb, n, nEmbd, rmsEps);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
}

/** Attention of n tokens from the normed input in scratch.xb; the output projection lands in scratch.xb. */
function recordAttention(ops: GpuOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number, n: number, startPos: number): void {
  const { nHeads, nKvHeads, headDim, kvDim, rmsEps } = hp;
  const { wq, wk, wv, wo } = attentionMatrices(layer, l);
  ops.matmul(wq, s.xb, s.q, n, layer.bq);
  ops.matmul(wk, s.xb, s.k, n, layer.bk);
  ops.matmul(wv, s.xb, s.v, n, layer.bv);
  if (layer.qNorm && layer.kNorm) {
    ops.rmsNorm(s.q, layer.qNorm, s.q, n * nHeads, headDim, rmsEps);
    ops.rmsNorm(s.k, layer.kNorm, s.k, n * nKvHeads, headDim, rmsEps);
  }
  // smollm3's NoPE layers skip the rotation; mistral3's queries take the temperature with theirs.
  if (layerAttention(hp, l).rope) {
    const rope = ropeParams(hp, w, l, startPos);
    ops.rope(s.q, n, { ...rope, nHeads, temperature: hp.attnTemperature ?? undefined });
    ops.rope(s.k, n, { ...rope, nHeads: nKvHeads });
  }
  ops.writeCacheRows(s.k, kv.keys[l], startPos, n, kvDim, kv.kvType);
  ops.writeCacheRows(s.v, kv.values[l], startPos, n, kvDim, kv.kvType);
  ops.attention(s.q, kv.keys[l], kv.values[l], s.attn, { nTokens: n, startPos, ...attentionParams(hp, kv, l) });
  ops.matmul(wo, s.attn, s.xb, n, layer.bo);
}

/** The last token's logits into scratch.logits: final norm, classifier, soft-capping (gemma2). */
export function recordOutput(ops: GpuOps, hp: Hyperparams, w: ModelWeights, s: Scratch, n: number): void {
  ops.copy(s.x, (n - 1) * hp.nEmbd, s.last, 0, hp.nEmbd);
  ops.rmsNorm(s.last, w.outputNorm, s.last, 1, hp.nEmbd, hp.rmsEps);
  ops.matmul(w.output, s.last, s.logits, 1, w.outputBias);
  if (hp.finalSoftcap > 0) ops.softcap(s.logits, hp.finalSoftcap, hp.nVocab);
}

/** The whole forward pass of n tokens (all layers resident), recorded into one submission. */
export function recordForward(ops: GpuOps, hp: Hyperparams, w: ModelWeights, kv: KvCache, s: Scratch, n: number, startPos: number): void {
  recordEmbedding(ops, hp, w, s, n);
  for (let l = 0; l < hp.nLayers; l++) recordBlock(ops, hp, w, kv, s, l, n, startPos);
  recordOutput(ops, hp, w, s, n);
}

/**
 * One token through the whole model as the decode pass records it (once,
 * replayed every token): the same math as recordForward with n = 1, in
 * fused kernels. The token id is read from scratch.ids[0], the position
 * from the decode pass's step buffer; the logits land in scratch.logits.
 */
export function recordDecodeToken(ops: DecodeOps, hp: Hyperparams, w: ModelWeights, kv: KvCache, s: Scratch): void {
  const { nEmbd, rmsEps: eps } = hp;
  ops.embed(w.tokenEmbd, s.ids, s.x);
  if (hp.embedScale !== 1) ops.scale(s.x, hp.embedScale, nEmbd);
  if (hp.gemma4) recordGemma4TokenInputs(ops, hp, w, s);
  for (let l = 0; l < hp.nLayers; l++) {
    if (hp.gemma4) {
      recordGemma4Token(ops, hp, w, w.layers[l], kv, s, l);
      continue;
    }
    if (w.qwen35) {
      recordQwen35Token(ops, hp, w.qwen35[l], kv, s, l, { rope: ropeStoreParams(hp, w, kv, l), attention: attentionParams(hp, kv, l) });
      continue;
    }
    const layer = w.layers[l];
    const state = kv.states[l];
    if (layer.shortConv && state) recordShortConvToken(ops, hp, layer.shortConv, layer.attnNorm, state[0], s);
    else recordAttentionToken(ops, hp, w, layer, kv, s, l);
    // Feed-forward block: norm, gate, up and the activation in one kernel.
    ops.gatedProject(s.x, { weight: layer.ffnNorm, eps }, layer.wGate, layer.wUp, s.gate, hp.traits.ffnActivation === 'gelu' ? 'gelu' : 'silu');
    residualProject(ops, hp, layer.wDown, s.gate, s, layer.ffnPostNorm);
  }
  ops.project(s.x, [{ w: w.output, outOffset: 0, bias: w.outputBias }], s.logits, {
    norm: { weight: w.outputNorm, eps },
    softcap: hp.finalSoftcap > 0 ? hp.finalSoftcap : undefined,
  });
}

/** The attention block of layer l for the step's token, the residual add included. */
function recordAttentionToken(ops: DecodeOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number): void {
  const { nHeads, headDim, kvDim, rmsEps: eps } = hp;
  const qDim = nHeads * headDim;
  const { wq, wk, wv, wo } = attentionMatrices(layer, l);
  // Attention block: norm folded into the q/k/v projection, then rope and the cache write.
  ops.project(
    s.x,
    [
      { w: wq, outOffset: 0, bias: layer.bq },
      { w: wk, outOffset: qDim, bias: layer.bk },
      { w: wv, outOffset: qDim + kvDim, bias: layer.bv },
    ],
    s.qkv,
    { norm: { weight: layer.attnNorm, eps } },
  );
  ops.ropeAndStore(s.qkv, kv.keys[l], kv.values[l], { ...ropeStoreParams(hp, w, kv, l), qNorm: layer.qNorm, kNorm: layer.kNorm });
  ops.attend(s.qkv, kv.keys[l], kv.values[l], s.attn, attentionParams(hp, kv, l));
  // Output projection; the residual add is its epilogue (after gemma's post-norm when there is one).
  residualProject(ops, hp, wo, s.attn, s, layer.attnPostNorm, layer.bo);
}

/** The decode step's rope of q and k and its cache write in layer l (without q/k norms). */
function ropeStoreParams(hp: Hyperparams, w: ModelWeights, kv: KvCache, l: number): RopeStoreParams {
  const { startPos: _position, ...rope } = ropeParams(hp, w, l, 0);
  // NoPE layers (smollm3) rotate nothing; the kernel applies mistral3's temperature to q only.
  const nRot = layerAttention(hp, l).rope ? rope.nRot : 0;
  const temperature = hp.attnTemperature ?? undefined;
  return { ...rope, nRot, temperature, nHeads: hp.nHeads, nKvHeads: hp.nKvHeads, eps: hp.rmsEps, kvType: kv.kvType };
}

/** x += W . input, or x += rmsnorm(W . input) * postNorm (gemma). */
function residualProject(ops: DecodeOps, hp: Hyperparams, wm: WeightMatrix, input: ActBuffer, s: Scratch, postNorm?: GPUBuffer, bias?: GPUBuffer): void {
  if (!postNorm) {
    ops.project(input, [{ w: wm, outOffset: 0, bias }], s.x, { accumulate: true });
    return;
  }
  ops.project(input, [{ w: wm, outOffset: 0, bias }], s.xb);
  ops.addNormed(s.x, s.xb, postNorm, hp.nEmbd, hp.rmsEps);
}
