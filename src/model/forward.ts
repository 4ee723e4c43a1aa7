// The llama forward pass. Reads like the math: per layer rmsnorm, q/k/v,
// rope, attention, output projection, residual, rmsnorm, SwiGLU, residual;
// then the final norm and the classifier. Kernels are named calls on GpuOps;
// the GPU plumbing lives in src/gpu/.

import type { ActBuffer, GpuOps } from '../gpu/ops-api';
import type { Hyperparams } from './hparams';
import type { LayerWeights, ModelWeights } from './weights';
import type { KvCache } from './kv-cache';

/** Activation buffers for a batch of up to `capacity` tokens, allocated once. */
export interface Scratch {
  capacity: number;
  ids: GPUBuffer;
  x: ActBuffer; // residual stream [B, nEmbd]
  xb: ActBuffer; // normed input / projection output [B, nEmbd]
  q: ActBuffer; // [B, nHeads*headDim]
  k: ActBuffer; // [B, kvDim]
  v: ActBuffer; // [B, kvDim]
  attn: ActBuffer; // [B, nHeads*headDim]
  gate: ActBuffer; // [B, nFf]
  up: ActBuffer; // [B, nFf]
  last: ActBuffer; // [nEmbd]: the last token's hidden state
  logits: ActBuffer; // [nVocab]
}

/** Static per-model settings the layer functions need, derived once. */
function ropeParams(hp: Hyperparams, w: ModelWeights, startPos: number) {
  return {
    headDim: hp.headDim,
    nRot: hp.ropeDim,
    startPos,
    freqBase: hp.ropeFreqBase,
    freqScale: hp.ropeScaling.type === 'linear' ? 1 / hp.ropeScaling.factor : 1,
    neox: false,
    freqFactors: w.ropeFreqs,
  };
}

/** x = embedding rows of the n token ids in scratch.ids. */
export function recordEmbedding(ops: GpuOps, w: ModelWeights, s: Scratch, n: number): void {
  ops.embedRows(w.tokenEmbd, s.ids, s.x, n);
}

/**
 * One transformer block over n tokens at positions startPos..: appends their
 * keys and values to layer l of the cache and updates the residual stream.
 */
export function recordLayer(ops: GpuOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number, n: number, startPos: number): void {
  const { nEmbd, nHeads, nKvHeads, headDim, kvDim, nFf, rmsEps } = hp;
  const rope = ropeParams(hp, w, startPos);
  // Attention block.
  ops.rmsNorm(s.x, layer.attnNorm, s.xb, n, nEmbd, rmsEps);
  ops.matmul(layer.wq, s.xb, s.q, n);
  ops.matmul(layer.wk, s.xb, s.k, n);
  ops.matmul(layer.wv, s.xb, s.v, n);
  ops.rope(s.q, n, { ...rope, nHeads });
  ops.rope(s.k, n, { ...rope, nHeads: nKvHeads });
  ops.writeCacheRows(s.k, kv.keys[l], startPos, n, kvDim);
  ops.writeCacheRows(s.v, kv.values[l], startPos, n, kvDim);
  ops.attention(s.q, kv.keys[l], kv.values[l], s.attn, {
    nTokens: n,
    startPos,
    nHeads,
    nKvHeads,
    headDim,
    scale: 1 / Math.sqrt(headDim),
  });
  ops.matmul(layer.wo, s.attn, s.xb, n);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
  // Feed-forward block (SwiGLU).
  ops.rmsNorm(s.x, layer.ffnNorm, s.xb, n, nEmbd, rmsEps);
  ops.matmul(layer.wGate, s.xb, s.gate, n);
  ops.matmul(layer.wUp, s.xb, s.up, n);
  ops.siluMul(s.gate, s.up, s.gate, n * nFf);
  ops.matmul(layer.wDown, s.gate, s.xb, n);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
}

/** The last token's logits into scratch.logits: final norm and classifier. */
export function recordOutput(ops: GpuOps, hp: Hyperparams, w: ModelWeights, s: Scratch, n: number): void {
  ops.copy(s.x, (n - 1) * hp.nEmbd, s.last, 0, hp.nEmbd);
  ops.rmsNorm(s.last, w.outputNorm, s.last, 1, hp.nEmbd, hp.rmsEps);
  ops.matmul(w.output, s.last, s.logits, 1);
}

/** The whole forward pass of n tokens (all layers resident), recorded into one submission. */
export function recordForward(ops: GpuOps, hp: Hyperparams, w: ModelWeights, kv: KvCache, s: Scratch, n: number, startPos: number): void {
  recordEmbedding(ops, w, s, n);
  for (let l = 0; l < hp.nLayers; l++) recordLayer(ops, hp, w, w.layers[l], kv, s, l, n, startPos);
  recordOutput(ops, hp, w, s, n);
}
