// readHyperparams: a model's Hyperparams (hparams.ts) from its GGUF
// metadata. Each architecture names its keys `<arch>.<name>`; missing or
// contradictory keys give clw-model-invalid naming the key. Defaults and
// required keys follow llama.cpp's loader (llama-model.cpp load_hparams and
// src/models/<arch>.cpp).

import { ClawError, modelInvalid } from '../errors';
import type { GgufFile } from '../gguf/types';
import { readDeltaNet } from './arch/qwen35';
import { ARCHITECTURE_TRAITS, isSupportedArchitecture, SUPPORTED_ARCHITECTURES, type Architecture, type ArchitectureTraits } from './architectures';
import { withGemma4Layout } from './arch/gemma4';
import type { Hyperparams } from './hparams';
import { MetadataReader } from './hparams-metadata';
import { readAttentionTemperature, readRopeScaling } from './hparams-rope';
import { readSlidingWindow } from './hparams-window';

export function architectureOf(file: GgufFile): string {
  const e = file.metadata.get('general.architecture');
  if (!e || typeof e.value !== 'string') throw modelInvalid('general.architecture', 0, 'required metadata key is missing', { key: 'general.architecture' });
  return e.value;
}

function tokenListLength(file: GgufFile): number {
  const tokens = file.metadata.get('tokenizer.ggml.tokens')?.value;
  return tokens && typeof tokens === 'object' && 'values' in tokens ? tokens.values.length : 0;
}

// ---------------------------------------------------------------------------

export function readHyperparams(file: GgufFile): Hyperparams {
  const arch = architectureOf(file);
  if (!isSupportedArchitecture(arch)) {
    throw new ClawError('clw-arch-unsupported', `architecture "${arch}" is not supported`, {
      fix: `Supported architectures: ${SUPPORTED_ARCHITECTURES.join(', ')}.`,
      details: { arch, supported: [...SUPPORTED_ARCHITECTURES] },
    });
  }
  const traits = ARCHITECTURE_TRAITS[arch];
  const m = new MetadataReader(file, arch);

  const blockCount = m.positiveInt('block_count');
  // qwen35's block_count also counts its MTP blocks, which the trunk never runs.
  const qwen35 = arch === 'qwen35' ? readDeltaNet(m, blockCount) : undefined;
  const nLayers = qwen35?.nLayers ?? blockCount;
  const nEmbd = m.positiveInt('embedding_length');
  const nHeads = m.widest('attention.head_count', nLayers, traits.perLayerShapes);
  const kvHeads = readKvHeads(m, traits, nLayers, nHeads);
  const nKvHeads = kvHeads.nKvHeads;
  const recurrentLayers = qwen35?.recurrentLayers ?? kvHeads.recurrentLayers;
  if (nHeads % nKvHeads !== 0) throw m.invalid('attention.head_count_kv', `${nKvHeads} does not divide head_count ${nHeads}`);
  const defaultHead = Number.isInteger(nEmbd / nHeads) ? nEmbd / nHeads : undefined;
  const headDim = m.positiveInt('attention.key_length', defaultHead);
  const valueDim = m.positiveInt('attention.value_length', headDim);
  if (valueDim !== headDim) throw m.invalid('attention.value_length', `${valueDim} differs from key_length ${headDim}; one head size is supported`);
  // lfm2's attention projects nEmbd to nEmbd (llama.cpp shapes q and attn_output so).
  if (traits.shortConv && nHeads * headDim !== nEmbd) throw m.invalid('attention.key_length', `${nHeads} heads of ${headDim} must make the embedding width ${nEmbd}`);
  const experts = m.num('expert_count', 0);
  if (experts > 0) {
    throw new ClawError('clw-arch-unsupported', `this ${arch} model is a mixture of ${experts} experts, which WebClaw does not run yet`, {
      fix: 'Use a dense (non-MoE) model of this architecture.',
      details: { arch, experts },
    });
  }
  // mistral3's optional MLP biases (llama.cpp loads them) have no place in the fused decode kernels yet.
  const ffnBias = traits.yarnKeys ? file.tensors.find((t) => /^blk\.\d+\.ffn_(gate|up|down)\.bias$/.test(t.name)) : undefined;
  if (ffnBias) {
    throw new ClawError('clw-arch-unsupported', `this ${arch} model has feed-forward biases (${ffnBias.name}), which WebClaw does not run yet`, {
      fix: 'Use a model of this architecture without MLP biases (Ministral 3 has none).',
      details: { arch, tensor: ffnBias.name },
    });
  }
  const ropeDim = m.positiveInt('rope.dimension_count', headDim);
  if (ropeDim > headDim || ropeDim % 2 !== 0) throw m.invalid('rope.dimension_count', `${ropeDim} must be even and at most the head size ${headDim}`);
  if (traits.fullRotary && ropeDim !== headDim) throw m.invalid('rope.dimension_count', `${ropeDim} must equal the head size ${headDim} for ${arch}`);

  const listed = tokenListLength(file);
  const nVocab = m.positiveInt('vocab_size', listed || undefined);
  if (listed > 0 && nVocab !== listed) throw m.invalid('vocab_size', `${nVocab} differs from the ${listed} tokens in tokenizer.ggml.tokens`);

  const nCtxTrain = m.positiveInt('context_length');
  const ropeFreqBase = m.positive('rope.freq_base', 10000);
  const ropeScaling = readRopeScaling(m, nCtxTrain, traits);
  const ropeFreqScale = ropeScaling.type === 'none' || ropeScaling.type === 'llama3' ? 1 : 1 / ropeScaling.factor;
  const swa = readSlidingWindow(m, traits, nLayers, ropeFreqBase, ropeFreqScale);

  const hp: Hyperparams = {
    arch,
    traits,
    nLayers,
    nEmbd,
    nHeads,
    nKvHeads,
    headDim,
    kvDim: nKvHeads * headDim,
    nFf: m.widest('feed_forward_length', nLayers, traits.perLayerShapes),
    nVocab,
    nCtxTrain,
    rmsEps: m.positive('attention.layer_norm_rms_epsilon'),
    ropeDim,
    ropeFreqBase,
    ropeFreqScale,
    ropeScaling,
    ...swa,
    attnScale: attentionScale(arch, nLayers, nEmbd, nHeads, headDim),
    attnSoftcap: arch === 'gemma2' ? m.positive('attn_logit_softcapping', 50) : 0,
    finalSoftcap: finalSoftcap(m, arch),
    embedScale: traits.scaleEmbeddings ? Math.sqrt(nEmbd) : 1,
    tiedEmbeddings: traits.alwaysTiedOutput || !file.tensors.some((t) => t.name === 'output.weight'),
    recurrentLayers,
    shortConvKernel: traits.shortConv ? readShortConvKernel(m) : 0,
    attnTemperature: traits.yarnKeys ? readAttentionTemperature(m, ropeScaling) : null,
    deltaNet: qwen35?.deltaNet,
  };
  return arch === 'gemma4' ? withGemma4Layout(file, hp) : hp;
}

/**
 * head_count_kv: one number, or (lfm2) one per layer where 0 marks a
 * short-convolution layer; the attention layers must share one count.
 */
function readKvHeads(m: MetadataReader, traits: ArchitectureTraits, nLayers: number, nHeads: number): { nKvHeads: number; recurrentLayers: boolean[] } {
  if (!traits.shortConv) return { nKvHeads: m.widest('attention.head_count_kv', nLayers, traits.perLayerShapes, nHeads), recurrentLayers: new Array<boolean>(nLayers).fill(false) };
  const perLayer = m.perLayer('attention.head_count_kv', nLayers, nHeads);
  const counts = new Set(perLayer.filter((n) => n > 0));
  if (counts.size !== 1) throw m.invalid('attention.head_count_kv', `attention layers must share one KV head count, found ${counts.size === 0 ? 'none' : [...counts].join(', ')}`);
  return { nKvHeads: [...counts][0], recurrentLayers: perLayer.map((n) => n === 0) };
}

function readShortConvKernel(m: MetadataReader): number {
  const L = m.positiveInt('shortconv.l_cache');
  if (L < 2) throw m.invalid('shortconv.l_cache', `expected at least 2, found ${L}`);
  return L;
}

function attentionScale(arch: Architecture, nLayers: number, nEmbd: number, nHeads: number, headDim: number): number {
  // Gemma's 27B models scale queries by the model width per head rather than
  // the head size (gemma_pytorch's query_pre_attn_scalar); llama.cpp tells
  // them apart by layer count.
  if (arch === 'gemma4') return 1; // q and k are RMS-normalised instead (llama.cpp's f_attention_scale = 1)
  const gemma27b = (arch === 'gemma2' && nLayers === 46) || (arch === 'gemma3' && nLayers === 62);
  return 1 / Math.sqrt(gemma27b ? nEmbd / nHeads : headDim);
}

function finalSoftcap(m: MetadataReader, arch: Architecture): number {
  if (arch === 'gemma2') return m.positive('final_logit_softcapping', 30);
  if (arch === 'gemma3' || arch === 'gemma4') {
    const c = m.num('final_logit_softcapping', 0);
    if (c < 0) throw m.invalid('final_logit_softcapping', `expected a non-negative number, found ${c}`);
    return c;
  }
  return 0;
}
