// Model weights on the GPU: which GGUF tensor feeds which slot, shape checks,
// and the upload itself (one tensor at a time, in the file's order, straight
// from the byte source, neighbouring tensors in one read and the next ones
// read meanwhile: CPU memory holds the read being uploaded and at most
// READ_AHEAD_BYTES more). Fused tensors (phi3's
// attn_qkv and gate-up ffn_up) are split by rows on upload, so the forward
// pass sees the same q/k/v and gate/up matrices for every architecture.

import { ClawError, modelInvalid } from '../errors';
import { ReadAhead } from '../gguf/read-ahead';
import type { ByteSource, GgufFile, GgufTensorInfo } from '../gguf/types';
import { GgmlType, GGML_TYPES } from '../gguf/types';
import type { WeightMatrix } from '../gpu/ops-api';
import type { Hyperparams } from './hparams';
import { assembleShortConv, shortConvTensorPlan, type ShortConvWeights } from './arch/lfm2';
import { gemma4TensorPlan } from './arch/gemma4';
import { assembleQwen35Layers, imropeTextFactors, qwen35TensorPlan, type Qwen35Layer } from './arch/qwen35';

export interface LayerWeights {
  attnNorm: GPUBuffer;
  /** The attention projections; absent in a short-convolution layer (lfm2), which has shortConv instead. */
  wq?: WeightMatrix;
  wk?: WeightMatrix;
  wv?: WeightMatrix;
  wo?: WeightMatrix;
  shortConv?: ShortConvWeights;
  /** Optional projection biases (qwen2 has q/k/v biases). */
  bq?: GPUBuffer;
  bk?: GPUBuffer;
  bv?: GPUBuffer;
  bo?: GPUBuffer;
  /** Per-head RMSNorm weights of q and k (qwen3, gemma3): headDim floats. */
  qNorm?: GPUBuffer;
  kNorm?: GPUBuffer;
  /** RMSNorm of the attention output before the residual add (gemma). */
  attnPostNorm?: GPUBuffer;
  ffnNorm: GPUBuffer;
  wGate: WeightMatrix;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
  /** RMSNorm of the feed-forward output before the residual add (gemma). */
  ffnPostNorm?: GPUBuffer;
  /** gemma4's per-layer input: gate (nEmbd -> nEmbdPerLayer), projection back, and its norm. */
  perLayerGate?: WeightMatrix;
  perLayerProj?: WeightMatrix;
  perLayerPostNorm?: GPUBuffer;
  /** gemma4's layer_output_scale: multiplies the layer's output. */
  outputScale?: number;
}

export interface ModelWeights {
  tokenEmbd: WeightMatrix;
  outputNorm: GPUBuffer;
  /** The classifier; the embedding matrix itself when tied. */
  output: WeightMatrix;
  outputBias?: GPUBuffer;
  /**
   * Per-pair rope frequency divisors: rope_freqs.weight (llama 3), or phi3's
   * rope_factors_long / rope_factors_short, chosen for the context size.
   */
  ropeFreqs?: GPUBuffer;
  /** gemma4: per_layer_model_proj split by layer (nEmbdPerLayer rows each), and the norm of its output. */
  perLayerModelProj?: WeightMatrix[];
  perLayerProjNorm?: GPUBuffer;
  /** gemma4's per-layer embedding table, where the memory plan puts it on the GPU (EnginePlan.perLayerTable): the decode pass gathers its token's row. */
  perLayerTable?: WeightMatrix;
  layers: LayerWeights[];
  /** qwen35: its hybrid layers instead of `layers` (which is then empty). */
  qwen35?: Qwen35Layer[];
}

/**
 * Whether the loader decodes a tensor to f32 values instead of keeping it as
 * a weight matrix: vectors (norms, biases), and the conv taps of lfm2 and
 * qwen35 (small 2-D tensors of L values per channel, read by the short_conv
 * and ssm_conv kernels).
 */
export function uploadsAsVector(t: { name: string; shape: readonly number[] }): boolean {
  return t.shape.filter((d) => d > 1).length <= 1 || t.name.endsWith('.shortconv.conv.weight') || t.name.endsWith('.ssm_conv1d.weight');
}

/** How tensors reach the GPU (implemented over the allocator in src/gpu/). */
export interface WeightUploader {
  matrix(name: string, type: GgmlType, rows: number, cols: number, bytes: Uint8Array): Promise<WeightMatrix>;
  vector(name: string, values: Float32Array): Promise<GPUBuffer>;
  /** Resolves once the GPU has accepted every buffer uploaded so far (an uploader may not wait for each one); else throws clw-gpu-oom. */
  settle(): Promise<void>;
}

/** Decodes a small F32/F16/BF16 tensor (norms, biases) to f32 on the CPU. */
export type VectorDecoder = (type: GgmlType, bytes: Uint8Array, elements: number) => Float32Array;

export class TensorTable {
  private readonly byName: Map<string, GgufTensorInfo>;
  constructor(readonly file: GgufFile) {
    this.byName = new Map(file.tensors.map((t) => [t.name, t]));
  }
  get(name: string): GgufTensorInfo | undefined {
    return this.byName.get(name);
  }
  require(name: string, shape: number[]): GgufTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw modelInvalid(name, 0, 'required tensor is missing', { tensor: name });
    const same = t.shape.length >= shape.length && shape.every((d, i) => t.shape[i] === d) && t.shape.slice(shape.length).every((d) => d === 1);
    if (!same) {
      throw modelInvalid(name, t.fileOffset, `shape [${t.shape.join(', ')}] does not match the expected [${shape.join(', ')}]`, { tensor: name });
    }
    return t;
  }
}

/** One tensor to load: GGUF name and shape ([cols, rows]); `pieces` splits it by rows into slots named like unfused tensors. */
export interface PlannedTensor {
  name: string;
  shape: number[];
  /** 'scalar': a one-element tensor read on the CPU (gemma4's layer_output_scale). */
  kind: 'matrix' | 'vector' | 'scalar';
  optional?: boolean;
  pieces?: { slot: string; rows: number }[];
}

/** The tensors (names and shapes, GGUF order [cols, rows]) a model of this architecture needs, given what the file holds. */
export function modelTensorPlan(hp: Hyperparams, table: TensorTable, contextSize?: number): PlannedTensor[] {
  if (hp.gemma4) return gemma4TensorPlan(hp, hp.gemma4);
  if (hp.deltaNet) return qwen35TensorPlan(hp, hp.deltaNet);
  const { nEmbd, nHeads, headDim, kvDim, nFf, nVocab, traits } = hp;
  const qDim = nHeads * headDim;
  const plan: PlannedTensor[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], kind: 'matrix' },
    { name: outputNormName(hp), shape: [nEmbd], kind: 'vector' },
    { name: 'output.bias', shape: [nVocab], kind: 'vector', optional: true },
  ];
  // gemma2 always reuses the embeddings, even when a file carries output.weight.
  if (!traits.alwaysTiedOutput) plan.push({ name: 'output.weight', shape: [nEmbd, nVocab], kind: 'matrix', optional: true });
  const factors = ropeFactorTensor(hp, table, contextSize);
  if (factors) plan.push({ name: factors, shape: [hp.ropeDim / 2], kind: 'vector', optional: hp.ropeScaling.type !== 'llama3' });

  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    plan.push({ name: `${b}attn_norm.weight`, shape: [nEmbd], kind: 'vector' });
    plan.push(...(hp.recurrentLayers[l] ? shortConvTensorPlan(hp, l) : attentionTensorPlan(hp, table, l)));
    plan.push({ name: `${b}ffn_norm.weight`, shape: [nEmbd], kind: 'vector' }, { name: `${b}ffn_down.weight`, shape: [nFf, nEmbd], kind: 'matrix' });
    if (traits.postNorms) {
      plan.push({ name: `${b}post_attention_norm.weight`, shape: [nEmbd], kind: 'vector' }, { name: `${b}post_ffw_norm.weight`, shape: [nEmbd], kind: 'vector' });
    }
    if (traits.fusedGateUp) {
      // llama.cpp's swiglu on the fused output: the first half is the gate.
      plan.push({
        name: `${b}ffn_up.weight`,
        shape: [nEmbd, 2 * nFf],
        kind: 'matrix',
        pieces: [
          { slot: `${b}ffn_gate.weight`, rows: nFf },
          { slot: `${b}ffn_up.weight`, rows: nFf },
        ],
      });
    } else {
      plan.push({ name: `${b}ffn_gate.weight`, shape: [nEmbd, nFf], kind: 'matrix' }, { name: `${b}ffn_up.weight`, shape: [nEmbd, nFf], kind: 'matrix' });
    }
  }
  return plan;
}

/** The final norm: lfm2's converter names it token_embd_norm (llama.cpp's LLM_TENSOR_OUTPUT_NORM_LFM2). */
function outputNormName(hp: Hyperparams): string {
  return hp.traits.shortConv ? 'token_embd_norm.weight' : 'output_norm.weight';
}

/** The attention tensors of layer l: separate or fused q/k/v, optional biases, q/k norms. */
function attentionTensorPlan(hp: Hyperparams, table: TensorTable, l: number): PlannedTensor[] {
  const { nEmbd, nHeads, headDim, kvDim, traits } = hp;
  const qDim = nHeads * headDim;
  const b = `blk.${l}.`;
  const plan: PlannedTensor[] = [];
  if (table.get(`${b}attn_qkv.weight`)) {
    const pieces = [
      { slot: `${b}attn_q`, rows: qDim },
      { slot: `${b}attn_k`, rows: kvDim },
      { slot: `${b}attn_v`, rows: kvDim },
    ];
    plan.push(
      { name: `${b}attn_qkv.weight`, shape: [nEmbd, qDim + 2 * kvDim], kind: 'matrix', pieces: pieces.map((p) => ({ ...p, slot: `${p.slot}.weight` })) },
      { name: `${b}attn_qkv.bias`, shape: [qDim + 2 * kvDim], kind: 'vector', optional: true, pieces: pieces.map((p) => ({ ...p, slot: `${p.slot}.bias` })) },
    );
  } else {
    plan.push(
      { name: `${b}attn_q.weight`, shape: [nEmbd, qDim], kind: 'matrix' },
      { name: `${b}attn_k.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
      { name: `${b}attn_v.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
      { name: `${b}attn_q.bias`, shape: [qDim], kind: 'vector', optional: true },
      { name: `${b}attn_k.bias`, shape: [kvDim], kind: 'vector', optional: true },
      { name: `${b}attn_v.bias`, shape: [kvDim], kind: 'vector', optional: true },
    );
  }
  plan.push(
    { name: `${b}attn_output.weight`, shape: [qDim, nEmbd], kind: 'matrix' },
    // lfm2 has no output bias (llama.cpp does not load one).
    ...(traits.shortConv ? [] : [{ name: `${b}attn_output.bias`, shape: [nEmbd], kind: 'vector' as const, optional: true }]),
  );
  if (traits.qkNorm) {
    plan.push({ name: `${b}attn_q_norm.weight`, shape: [headDim], kind: 'vector' }, { name: `${b}attn_k_norm.weight`, shape: [headDim], kind: 'vector' });
  }
  return plan;
}

/**
 * Which rope factor tensor applies, as llama.cpp's get_rope_factors picks it:
 * rope_freqs.weight when present; otherwise phi3-style long factors when the
 * context exceeds the original training context, else the short ones.
 */
function ropeFactorTensor(hp: Hyperparams, table: TensorTable, contextSize?: number): string | undefined {
  if (table.get('rope_freqs.weight') || hp.ropeScaling.type === 'llama3') return 'rope_freqs.weight';
  const longRope = hp.arch === 'phi3' || hp.ropeScaling.type === 'longrope';
  if (!longRope) return undefined;
  return (contextSize ?? 0) > hp.ropeScaling.originalContext ? 'rope_factors_long.weight' : 'rope_factors_short.weight';
}

export interface LoadWeightsOptions {
  onBytes?: (loadedBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
  /** The context the KV cache is made for: picks phi3's long or short rope factors (short when absent). */
  contextSize?: number;
  /** Bytes of the next reads made while one uploads (ReadAhead; default READ_AHEAD_BYTES). */
  readAheadBytes?: number;
  /** Longest read of tensors that follow each other in the file (ReadAhead; default READ_CHUNK_BYTES; 0: a read per tensor). */
  readChunkBytes?: number;
}

export async function loadModelWeights(
  file: GgufFile,
  source: ByteSource,
  hp: Hyperparams,
  up: WeightUploader,
  decodeVector: VectorDecoder,
  options: LoadWeightsOptions = {},
): Promise<ModelWeights> {
  const table = new TensorTable(file);
  const present = modelTensorPlan(hp, table, options.contextSize).filter((p) => !p.optional || table.get(p.name));
  const infos = present.map((p) => table.require(p.name, p.shape));
  for (const t of infos) {
    if (!GGML_TYPES.get(t.type)?.gpuSupported) {
      throw new ClawError('clw-quant-unsupported', `tensor ${t.name} has type ${GGML_TYPES.get(t.type)?.name ?? t.type}, which the GPU path cannot run`, {
        fix: 'Use a file quantized to a supported type (see the README).',
        details: { tensor: t.name, type: t.type },
      });
    }
  }
  const total = infos.reduce((s, t) => s + t.byteSize, 0);
  let loaded = 0;
  const slots = new Map<string, Slot>();
  // In the file's order, so that neighbouring tensors come in one read.
  const order = infos.map((_, i) => i).sort((a, b) => infos[a].fileOffset - infos[b].fileOffset);
  const reads = new ReadAhead(source, order.map((i) => ({ offset: infos[i].fileOffset, length: infos[i].byteSize })), options.readAheadBytes, options.readChunkBytes);
  for (const [k, i] of order.entries()) {
    options.signal?.throwIfAborted();
    const bytes = await reads.take(k);
    await uploadPlanned(present[i], infos[i], bytes, up, decodeVector, slots);
    loaded += infos[i].byteSize;
    options.onBytes?.(loaded, total);
  }
  // qwen35's IMROPE on text positions, as NeoX rope with frequency factors (arch/qwen35.ts).
  if (hp.deltaNet) slots.set('rope_freqs.weight', await up.vector('imrope text sections', imropeTextFactors(hp, hp.deltaNet)));
  await up.settle();
  return assembleWeights(hp, slots);
}

async function uploadPlanned(
  p: PlannedTensor,
  t: GgufTensorInfo,
  bytes: Uint8Array,
  up: WeightUploader,
  decodeVector: VectorDecoder,
  slots: Map<string, Slot>,
): Promise<void> {
  const cols = p.shape[0];
  if (p.kind === 'scalar') {
    slots.set(p.name, decodeVector(t.type, bytes, 1)[0]);
    return;
  }
  if (p.kind === 'vector') {
    const values = decodeVector(t.type, bytes, t.elements);
    if (!p.pieces) {
      slots.set(p.name, await up.vector(p.name, values));
      return;
    }
    let offset = 0;
    for (const piece of p.pieces) {
      slots.set(piece.slot, await up.vector(piece.slot, values.slice(offset, offset + piece.rows)));
      offset += piece.rows;
    }
    return;
  }
  if (!p.pieces) {
    slots.set(p.name, await up.matrix(p.name, t.type, p.shape[1], cols, bytes));
    return;
  }
  const info = GGML_TYPES.get(t.type)!;
  const rowBytes = (cols / info.blockSize) * info.blockBytes;
  let row = 0;
  for (const piece of p.pieces) {
    slots.set(piece.slot, await up.matrix(piece.slot, t.type, piece.rows, cols, bytes.subarray(row * rowBytes, (row + piece.rows) * rowBytes)));
    row += piece.rows;
  }
}

type Slot = WeightMatrix | GPUBuffer | number;

function assembleWeights(hp: Hyperparams, slots: Map<string, Slot>): ModelWeights {
  const m = (name: string) => slots.get(name) as WeightMatrix;
  const v = (name: string) => slots.get(name) as GPUBuffer | undefined;
  const req = (name: string) => slots.get(name) as GPUBuffer;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < (hp.deltaNet ? 0 : hp.nLayers); l++) {
    const b = `blk.${l}.`;
    // A gemma4 layer without a cache of its own never projects K and V: it
    // names those of the layer whose cache it reads. Without attn_v, V is K's projection.
    const kb = `blk.${hp.gemma4?.layers[l].kvLayer ?? l}.`;
    layers.push({
      attnNorm: req(`${b}attn_norm.weight`),
      shortConv: hp.recurrentLayers[l] ? assembleShortConv(l, (name) => slots.get(name) as WeightMatrix | GPUBuffer | undefined) : undefined,
      wq: m(`${b}attn_q.weight`),
      wk: m(`${kb}attn_k.weight`),
      wv: m(`${kb}attn_v.weight`) ?? m(`${kb}attn_k.weight`),
      wo: m(`${b}attn_output.weight`),
      bq: v(`${b}attn_q.bias`),
      bk: v(`${b}attn_k.bias`),
      bv: v(`${b}attn_v.bias`),
      bo: v(`${b}attn_output.bias`),
      qNorm: v(`${b}attn_q_norm.weight`),
      kNorm: v(`${b}attn_k_norm.weight`),
      attnPostNorm: v(`${b}post_attention_norm.weight`),
      ffnNorm: req(`${b}ffn_norm.weight`),
      wGate: m(`${b}ffn_gate.weight`),
      wUp: m(`${b}ffn_up.weight`),
      wDown: m(`${b}ffn_down.weight`),
      ffnPostNorm: v(`${b}post_ffw_norm.weight`),
      perLayerGate: m(`${b}inp_gate.weight`),
      perLayerProj: m(`${b}proj.weight`),
      perLayerPostNorm: v(`${b}post_norm.weight`),
      outputScale: slots.get(`${b}layer_output_scale.weight`) as number | undefined,
    });
  }
  const tokenEmbd = m('token_embd.weight');
  return {
    tokenEmbd,
    outputNorm: req(outputNormName(hp)),
    output: slots.has('output.weight') ? m('output.weight') : tokenEmbd,
    outputBias: v('output.bias'),
    ropeFreqs: v('rope_freqs.weight') ?? v('rope_factors_long.weight') ?? v('rope_factors_short.weight'),
    perLayerModelProj: slots.has('per_layer_model_proj.0') ? Array.from({ length: hp.nLayers }, (_, l) => m(`per_layer_model_proj.${l}`)) : undefined,
    perLayerProjNorm: v('per_layer_proj_norm.weight'),
    layers,
    qwen35: hp.deltaNet ? assembleQwen35Layers(hp, slots) : undefined,
  };
}
