// Hyperparameters of a model: the record every planner, kernel and pass
// sizes itself from, and the per-layer views derived from it. They are read
// from GGUF metadata in hparams-read.ts (readHyperparams, re-exported here so
// that this stays the one import path), with the typed key getters in
// hparams-metadata.ts, rope scaling in hparams-rope.ts and sliding windows in
// hparams-window.ts.

import { deltaNetStateBytes, type DeltaNetShape } from './arch/qwen35';
import type { Architecture, ArchitectureTraits } from './architectures';
import type { Gemma4Layout } from './arch/gemma4';

export { SUPPORTED_ARCHITECTURES, type Architecture } from './architectures';
export { architectureOf, readHyperparams } from './hparams-read';

const F32 = 4;

export interface RopeScaling {
  /**
   * How positions are stretched: linear (positions / factor), yarn (mixed
   * per frequency), longrope (phi3 long/short factor tensors), llama3 (the
   * factors are in rope_freqs.weight), none.
   */
  type: 'none' | 'linear' | 'yarn' | 'longrope' | 'llama3';
  /** `rope.scaling.factor` (1 when absent). */
  factor: number;
  /** The context the model was trained for before scaling (yarn, longrope factor choice). */
  originalContext: number;
  /** `rope.scaling.attn_factor`: multiplies sin and cos (phi3 longrope). */
  attnFactor: number;
  /** YaRN's ramp ends in turns over the original context (`rope.scaling.yarn_beta_fast` / `_slow`, read by mistral3; 32 and 1 otherwise). */
  yarnBetaFast: number;
  yarnBetaSlow: number;
  /** `rope.scaling.yarn_log_multiplier` (mistral3; 0 = none): YaRN's magnitude is get_mscale(factor) / get_mscale(factor, this). */
  yarnLogMul: number;
}

/** Llama 4 / Ministral 3 query temperature: q times 1 + scale * ln(floor(pos / length) + 1). */
export interface AttentionTemperature {
  scale: number;
  /** Positions per step of the temperature: the original (pre-YaRN) context. */
  length: number;
}

export interface Hyperparams {
  arch: Architecture;
  traits: ArchitectureTraits;
  nLayers: number;
  nEmbd: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  /** Width of K per token across kv heads (nKvHeads * headDim). */
  kvDim: number;
  nFf: number;
  nVocab: number;
  /** Training context (`<arch>.context_length`). */
  nCtxTrain: number;
  rmsEps: number;
  ropeDim: number;
  ropeFreqBase: number;
  /** Position multiplier of full-attention layers (1 / factor for linear and yarn scaling). */
  ropeFreqScale: number;
  ropeScaling: RopeScaling;
  /** Rope base and scale of sliding-window layers (gemma3: a local base of 10000, no scaling). */
  ropeFreqBaseSwa: number;
  ropeFreqScaleSwa: number;
  /** Multiplies q.k before the softmax. */
  attnScale: number;
  /** Attention logit soft-capping c*tanh(x/c) (gemma2); 0 = none. */
  attnSoftcap: number;
  /** Final logit soft-capping (gemma2, optional in gemma3); 0 = none. */
  finalSoftcap: number;
  /** Embedding rows are multiplied by this (gemma: sqrt(nEmbd)). */
  embedScale: number;
  /** Sliding window in tokens for the layers flagged in swaLayers; 0 = none. */
  slidingWindow: number;
  swaLayers: boolean[];
  /** true when output.weight is absent (or ignored) and the embedding matrix is reused. */
  tiedEmbeddings: boolean;
  /**
   * Layers without attention or KV cache, holding a per-sequence state
   * instead (lfm2's short convolutions, qwen35's gated delta-net layers;
   * sizes in recurrentStateShape).
   */
  recurrentLayers: boolean[];
  /** Width L of lfm2's causal convolution over time (`shortconv.l_cache`); 0 = none. Its state is the last L - 1 inputs. */
  shortConvKernel: number;
  /** Query temperature past the original context (mistral3's `attention.temperature_scale`); null = none. */
  attnTemperature: AttentionTemperature | null;
  /**
   * gemma4's per-layer shapes, shared KV and per-layer embeddings; the
   * fields above then hold the widest layer's sizes (scratch sizing).
   */
  gemma4?: Gemma4Layout;
  /** qwen35: the shape of its gated delta-net layers (which layers they are: recurrentLayers). */
  deltaNet?: DeltaNetShape;
}

/** What one layer's attention uses: its window, its rope frequencies, and whether it ropes at all (smollm3's NoPE layers do not). */
export interface LayerAttention {
  window: number;
  freqBase: number;
  freqScale: number;
  rope: boolean;
}

export function layerAttention(hp: Hyperparams, layer: number): LayerAttention {
  const local = hp.slidingWindow > 0 && hp.swaLayers[layer] === true;
  const step = hp.traits.noRopeLayerStep;
  const rope = step === 0 || (layer + 1) % step !== 0;
  return local
    ? { window: hp.slidingWindow, freqBase: hp.ropeFreqBaseSwa, freqScale: hp.ropeFreqScaleSwa, rope }
    : { window: 0, freqBase: hp.ropeFreqBase, freqScale: hp.ropeFreqScale, rope };
}

/** Row width of each KV cache layer: kvDim for every layer, or (gemma4) each cache-owning layer's own. */
export function kvCacheWidths(hp: Hyperparams): number[] {
  if (hp.gemma4) return hp.gemma4.layers.filter((l) => l.ownsKv).map((l) => l.kvDim);
  // lfm2's short-convolution layers hold a recurrent state instead of rows.
  return hp.recurrentLayers.map((recurrent) => (recurrent ? 0 : hp.kvDim));
}

/**
 * Bytes of each buffer of recurrent state that one recurrent layer keeps
 * (none without such layers), all f32: lfm2, the conv's last L - 1 inputs
 * per channel; qwen35, its conv state and its delta-rule state (see
 * deltaNetStateBytes). The KV cache allocates these and the memory plans
 * count them.
 */
export function recurrentStateShape(hp: Pick<Hyperparams, 'shortConvKernel' | 'nEmbd' | 'deltaNet'>): number[] {
  if (hp.deltaNet) return deltaNetStateBytes(hp.deltaNet);
  return hp.shortConvKernel > 0 ? [(hp.shortConvKernel - 1) * hp.nEmbd * F32] : [];
}
