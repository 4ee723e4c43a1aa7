// Hyperparameters of a model, read from its GGUF metadata. Each architecture
// names its keys `<arch>.<name>`; missing or contradictory keys give
// clw-model-invalid naming the key.

import { ClawError, modelInvalid } from '../errors';
import type { GgufFile, GgufMetadataEntry } from '../gguf/types';

export const SUPPORTED_ARCHITECTURES = ['llama'] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export interface RopeScaling {
  type: 'none' | 'linear' | 'yarn' | 'llama3';
  factor: number;
  originalContext?: number;
}

export interface Hyperparams {
  arch: Architecture;
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
  ropeScaling: RopeScaling;
  /** true when output.weight is absent and the embedding matrix is reused. */
  tiedEmbeddings: boolean;
}

function entry(file: GgufFile, key: string): GgufMetadataEntry | undefined {
  return file.metadata.get(key);
}

function num(file: GgufFile, key: string, fallback?: number): number {
  const e = entry(file, key);
  if (!e) {
    if (fallback !== undefined) return fallback;
    throw modelInvalid(key, 0, 'required metadata key is missing', { key });
  }
  const v = typeof e.value === 'bigint' ? Number(e.value) : e.value;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw modelInvalid(key, 0, `expected a number, found ${typeof v}`, { key });
  return v;
}

function positiveInt(file: GgufFile, key: string, fallback?: number): number {
  const v = num(file, key, fallback);
  if (!Number.isInteger(v) || v <= 0) throw modelInvalid(key, 0, `expected a positive integer, found ${v}`, { key });
  return v;
}

export function architectureOf(file: GgufFile): string {
  const e = entry(file, 'general.architecture');
  if (!e || typeof e.value !== 'string') throw modelInvalid('general.architecture', 0, 'required metadata key is missing', { key: 'general.architecture' });
  return e.value;
}

export function readHyperparams(file: GgufFile): Hyperparams {
  const arch = architectureOf(file);
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new ClawError('clw-arch-unsupported', `architecture "${arch}" is not supported`, {
      fix: `Supported architectures: ${SUPPORTED_ARCHITECTURES.join(', ')}.`,
      details: { arch },
    });
  }
  const k = (name: string) => `${arch}.${name}`;
  const nEmbd = positiveInt(file, k('embedding_length'));
  const nHeads = positiveInt(file, k('attention.head_count'));
  const nKvHeads = positiveInt(file, k('attention.head_count_kv'), nHeads);
  if (nHeads % nKvHeads !== 0) {
    throw modelInvalid(k('attention.head_count_kv'), 0, `${nKvHeads} does not divide head_count ${nHeads}`, { key: k('attention.head_count_kv') });
  }
  const headDim = positiveInt(file, k('attention.key_length'), nEmbd / nHeads);
  const tokens = entry(file, 'tokenizer.ggml.tokens');
  const tokenCount = tokens && typeof tokens.value === 'object' && 'values' in tokens.value ? tokens.value.values.length : 0;
  const nVocab = positiveInt(file, k('vocab_size'), tokenCount || undefined);
  const ropeDim = positiveInt(file, k('rope.dimension_count'), headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) throw modelInvalid(k('rope.dimension_count'), 0, `${ropeDim} must be even and at most the head size ${headDim}`, { key: k('rope.dimension_count') });

  const scalingType = entry(file, k('rope.scaling.type'))?.value;
  const factor = num(file, k('rope.scaling.factor'), 1);
  let ropeScaling: RopeScaling = { type: 'none', factor: 1 };
  if (typeof scalingType === 'string' && scalingType !== 'none' && factor !== 1) {
    if (scalingType !== 'linear' && scalingType !== 'yarn' && scalingType !== 'llama3') {
      throw modelInvalid(k('rope.scaling.type'), 0, `unknown rope scaling "${scalingType}"`, { key: k('rope.scaling.type') });
    }
    ropeScaling = { type: scalingType, factor, originalContext: num(file, k('rope.scaling.original_context_length'), 0) || undefined };
  }

  return {
    arch: arch as Architecture,
    nLayers: positiveInt(file, k('block_count')),
    nEmbd,
    nHeads,
    nKvHeads,
    headDim,
    kvDim: nKvHeads * headDim,
    nFf: positiveInt(file, k('feed_forward_length')),
    nVocab,
    nCtxTrain: positiveInt(file, k('context_length'), 2048),
    rmsEps: num(file, k('attention.layer_norm_rms_epsilon'), 1e-5),
    ropeDim,
    ropeFreqBase: num(file, k('rope.freq_base'), 10000),
    ropeScaling,
    tiedEmbeddings: !file.tensors.some((t) => t.name === 'output.weight'),
  };
}
