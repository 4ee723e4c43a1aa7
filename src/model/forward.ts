// The llama forward pass. Reads like the math: per layer rmsnorm, q/k/v,
// rope, attention, output projection, residual, rmsnorm, SwiGLU, residual;
// then the final norm and the classifier. Kernels are named calls on GpuOps;
// the GPU plumbing lives in src/gpu/.

import type { ActBuffer, GpuOps } from '../gpu/ops-api';
import type { Hyperparams } from './hparams';
import type { ModelWeights } from './weights';
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

/**
 * Runs `tokens` (already in `scratch.ids`) at positions startPos.. through
 * the model, appends their keys and values to the cache, and records the
 * logits of the last token into scratch.logits. Nothing is read back here.
 */
export function recordForward(ops: GpuOps, hp: Hyperparams, w: ModelWeights, kv: KvCache, s: Scratch, n: number, startPos: number): void {
  const { nEmbd, nHeads, nKvHeads, headDim, kvDim, nFf, rmsEps } = hp;
  const rope = {
    headDim,
    nRot: hp.ropeDim,
    startPos,
    freqBase: hp.ropeFreqBase,
    freqScale: hp.ropeScaling.type === 'linear' ? 1 / hp.ropeScaling.factor : 1,
    neox: false,
    freqFactors: w.ropeFreqs,
  };

  ops.embedRows(w.tokenEmbd, s.ids, s.x, n);
  for (let l = 0; l < hp.nLayers; l++) {
    const layer = w.layers[l];
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
  // Only the last token's logits are needed for sampling.
  ops.copy(s.x, (n - 1) * nEmbd, s.last, 0, nEmbd);
  ops.rmsNorm(s.last, w.outputNorm, s.last, 1, nEmbd, rmsEps);
  ops.matmul(w.output, s.last, s.logits, 1);
}
