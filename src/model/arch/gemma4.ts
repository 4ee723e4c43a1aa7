// Gemma 4 (E2B, E4B dense): what differs from the other architectures,
// following llama.cpp (src/models/gemma4.cpp and its loader):
// - per layer: sliding or full attention (a bool per layer), with their own
//   head size (key_length_swa / key_length), KV head count and rotary width;
//   full layers rotate through rope_freqs.weight ("proportional" rope: the
//   unrotated pairs carry a 1e30 divisor); attention scale 1 (q and k are
//   RMS-normalised), V RMS-normalised without a weight;
// - the last shared_kv_layers layers own no KV cache: a sliding one reads
//   the cache of the last sliding owner, a full one that of the last owner;
// - per-layer embeddings: a table of nLayers * nEmbdPerLayer per token
//   (its rows gathered on the GPU by both passes where the memory plan puts
//   the table there; else read from the file and uploaded before each
//   batch and decode step, see PerLayerTokenRows), mixed with a projection
//   of the scaled token embedding and added through a gated projection
//   after each layer;
// - blk.N.layer_output_scale multiplies each layer's output.

import { ClawError, modelInvalid } from '../../errors';
import type { ByteSource, GgufFile, GgufTensorInfo } from '../../gguf/types';
import { GGML_TYPES, type GgmlType } from '../../gguf/types';
import type { ActBuffer, DecodeAttentionParams, DecodeOps, GpuOps, Projection, RopeParams } from '../../gpu/ops-api';
import { weightRowBytes } from '../../gpu/weights';
import type { Scratch } from '../forward';
import { layerAttention, type Hyperparams } from '../hparams';
import type { KvCache } from '../kv-cache';
import type { LayerWeights, ModelWeights, PlannedTensor } from '../weights';

export interface Gemma4LayerShape {
  swa: boolean;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  kvDim: number;
  nFf: number;
  ropeDim: number;
  /** The KV cache layer this layer writes (it owns it) or reads (shared). */
  kvLayer: number;
  ownsKv: boolean;
}

export interface Gemma4Layout {
  layers: Gemma4LayerShape[];
  /** Layers 0 .. nKvLayers-1 own a KV cache; the rest reuse one of the last two. */
  nKvLayers: number;
  /** Width of one layer's slice of a per-layer embedding (embedding_length_per_layer_input); 0 = none. */
  nEmbdPerLayer: number;
}

/**
 * The per-layer embedding table: its rows are gathered on the GPU where the
 * memory plan puts it there (EnginePlan.perLayerTable), else read from the
 * file (PerLayerTokenRows).
 */
export const PER_LAYER_TABLE = 'per_layer_token_embd.weight';

/** Whether a tensor is left out of the layers' and other weights' bytes: the per-layer table, which the plan books on its own when it goes to the GPU. */
export function staysInFile(name: string): boolean {
  return name === PER_LAYER_TABLE;
}

/**
 * The per-layer embedding table of a gemma4 file that has one (undefined
 * otherwise), its shape and type checked: nVocab rows of nLayers x
 * nEmbdPerLayer, a type WebClaw decodes.
 */
export function perLayerTableTensor(file: GgufFile, hp: Hyperparams): GgufTensorInfo | undefined {
  const nPl = hp.gemma4?.nEmbdPerLayer ?? 0;
  if (nPl === 0) return undefined;
  const table = file.tensors.find((t) => t.name === PER_LAYER_TABLE);
  if (!table) throw modelInvalid(PER_LAYER_TABLE, 0, 'required tensor is missing', { tensor: PER_LAYER_TABLE });
  const rowLength = nPl * hp.nLayers;
  const info = GGML_TYPES.get(table.type);
  if (!info || table.shape[0] !== rowLength || table.shape[1] !== hp.nVocab || rowLength % info.blockSize !== 0) {
    throw modelInvalid(table.name, table.fileOffset, `shape [${table.shape.join(', ')}] does not match the expected [${rowLength}, ${hp.nVocab}]`, { tensor: table.name });
  }
  // Decoded on the CPU or the GPU: held to the same list of types as every tensor (each has its CPU twin).
  if (!info.gpuSupported) {
    throw new ClawError('clw-quant-unsupported', `tensor ${table.name} has type ${info.name}, which WebClaw cannot decode`, {
      fix: 'Use a file quantized to a supported type (see the README).',
      details: { tensor: table.name, type: table.type },
    });
  }
  return table;
}

/** The factor a per-layer table row is scaled by after its lookup (llama.cpp's order: get_rows, then scale), in f32. */
export function perLayerRowScale(hp: Hyperparams): number {
  return Math.fround(Math.sqrt(hp.gemma4!.nEmbdPerLayer));
}

function perLayerValues(file: GgufFile, key: string, nLayers: number, fallback?: number): number[] {
  const v = file.metadata.get(key)?.value;
  if (v === undefined) {
    if (fallback === undefined) throw modelInvalid(key, 0, 'required metadata key is missing', { key });
    return new Array<number>(nLayers).fill(fallback);
  }
  const values = typeof v === 'object' && v !== null && 'values' in v ? v.values.map(Number) : new Array<number>(nLayers).fill(Number(v));
  if (values.length !== nLayers || !values.every((x) => Number.isInteger(x) && x > 0)) {
    throw modelInvalid(key, 0, `expected a positive integer or ${nLayers} of them`, { key });
  }
  return values;
}

function positiveKey(file: GgufFile, key: string, fallback?: number): number {
  return perLayerValues(file, key, 1, fallback)[0];
}

/** hp with gemma4's per-layer shapes, and the widest of them in the shared fields (they size the scratch). */
export function withGemma4Layout(file: GgufFile, hp: Hyperparams): Hyperparams {
  const k = (name: string) => `gemma4.${name}`;
  // The 26B-A4B routes each token through experts (ffn_gate_inp): not implemented, and it must not run as a dense model.
  if (file.tensors.some((t) => /^blk\.\d+\.ffn_gate_inp\.weight$/.test(t.name))) {
    throw new ClawError('clw-arch-unsupported', 'gemma4 with mixture-of-experts layers (26B-A4B) is not supported; the dense E2B and E4B are', {
      fix: 'Use a Gemma 4 E2B or E4B file.',
      details: { arch: 'gemma4', experts: true },
    });
  }
  const n = hp.nLayers;
  const headFull = hp.headDim;
  const headSwa = positiveKey(file, k('attention.key_length_swa'));
  if (positiveKey(file, k('attention.value_length_swa')) !== headSwa) throw modelInvalid(k('attention.value_length_swa'), 0, 'differs from key_length_swa');
  const ropeSwa = positiveKey(file, k('rope.dimension_count_swa'), hp.ropeDim);
  const heads = perLayerValues(file, k('attention.head_count'), n);
  const kvHeads = perLayerValues(file, k('attention.head_count_kv'), n, heads[0]);
  const ffs = perLayerValues(file, k('feed_forward_length'), n);
  const shared = file.metadata.has(k('attention.shared_kv_layers')) ? Number(file.metadata.get(k('attention.shared_kv_layers'))!.value) : 0;
  const nKvLayers = n - shared;
  if (!(Number.isInteger(shared) && shared >= 0 && (shared === 0 || nKvLayers >= 2))) {
    throw modelInvalid(k('attention.shared_kv_layers'), 0, `${shared} shared layers of ${n} leave too few cache owners`);
  }
  const nEmbdPerLayer = file.metadata.has(k('embedding_length_per_layer_input')) ? positiveKey(file, k('embedding_length_per_layer_input')) : 0;

  const layers = Array.from({ length: n }, (_, l): Gemma4LayerShape => {
    const swa = hp.swaLayers[l];
    const headDim = swa ? headSwa : headFull;
    const ropeDim = swa ? ropeSwa : hp.ropeDim;
    if (heads[l] % kvHeads[l] !== 0) throw modelInvalid(k('attention.head_count_kv'), 0, `layer ${l}: ${kvHeads[l]} does not divide ${heads[l]} heads`);
    if (ropeDim > headDim || ropeDim % 2 !== 0) throw modelInvalid(k('rope.dimension_count'), 0, `layer ${l}: rotary width ${ropeDim} must be even and at most the head size ${headDim}`);
    const ownsKv = l < nKvLayers;
    // llama.cpp's reuse rule: a shared sliding layer reads the second-to-last owner, a shared full layer the last.
    const kvLayer = ownsKv ? l : nKvLayers - (swa ? 2 : 1);
    return { swa, nHeads: heads[l], nKvHeads: kvHeads[l], headDim, kvDim: kvHeads[l] * headDim, nFf: ffs[l], ropeDim, kvLayer, ownsKv };
  });
  for (const s of layers) {
    const owner = layers[s.kvLayer];
    if (owner.headDim !== s.headDim || owner.nKvHeads !== s.nKvHeads || owner.swa !== s.swa) {
      throw modelInvalid(k('attention.shared_kv_layers'), 0, `a shared layer's attention differs from that of layer ${s.kvLayer}, whose cache it reuses`);
    }
  }
  if (nEmbdPerLayer > Math.min(...ffs)) throw modelInvalid(k('embedding_length_per_layer_input'), 0, `${nEmbdPerLayer} is wider than a feed-forward layer`);
  const widest = (f: (s: Gemma4LayerShape) => number) => Math.max(...layers.map(f));
  return {
    ...hp,
    nHeads: widest((s) => s.nHeads),
    nKvHeads: widest((s) => s.nKvHeads),
    headDim: widest((s) => s.headDim),
    kvDim: widest((s) => s.kvDim),
    gemma4: { layers, nKvLayers, nEmbdPerLayer },
  };
}

/** The tensors a gemma4 model loads (GGUF shapes [cols, rows]): llama.cpp's set minus the per-layer table and shared layers' K/V. */
export function gemma4TensorPlan(hp: Hyperparams, g: Gemma4Layout): PlannedTensor[] {
  const { nEmbd, nVocab, nLayers } = hp;
  const nPl = g.nEmbdPerLayer;
  const plan: PlannedTensor[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], kind: 'matrix' },
    { name: 'output_norm.weight', shape: [nEmbd], kind: 'vector' },
    { name: 'output.weight', shape: [nEmbd, nVocab], kind: 'matrix', optional: true },
  ];
  const full = g.layers.find((s) => !s.swa);
  if (full) plan.push({ name: 'rope_freqs.weight', shape: [full.headDim / 2], kind: 'vector' });
  if (nPl > 0) {
    plan.push(
      {
        name: 'per_layer_model_proj.weight',
        shape: [nEmbd, nPl * nLayers],
        kind: 'matrix',
        // One piece per layer: each layer projects its own slice when it needs it.
        pieces: g.layers.map((_, l) => ({ slot: `per_layer_model_proj.${l}`, rows: nPl })),
      },
      { name: 'per_layer_proj_norm.weight', shape: [nPl], kind: 'vector' },
    );
  }
  g.layers.forEach((s, l) => {
    const b = `blk.${l}.`;
    const qDim = s.nHeads * s.headDim;
    plan.push(
      { name: `${b}attn_norm.weight`, shape: [nEmbd], kind: 'vector' },
      { name: `${b}attn_q.weight`, shape: [nEmbd, qDim], kind: 'matrix' },
      { name: `${b}attn_q_norm.weight`, shape: [s.headDim], kind: 'vector' },
      { name: `${b}attn_output.weight`, shape: [qDim, nEmbd], kind: 'matrix' },
      { name: `${b}post_attention_norm.weight`, shape: [nEmbd], kind: 'vector' },
      { name: `${b}layer_output_scale.weight`, shape: [1], kind: 'scalar', optional: true },
      { name: `${b}ffn_norm.weight`, shape: [nEmbd], kind: 'vector' },
      { name: `${b}ffn_gate.weight`, shape: [nEmbd, s.nFf], kind: 'matrix' },
      { name: `${b}ffn_up.weight`, shape: [nEmbd, s.nFf], kind: 'matrix' },
      { name: `${b}ffn_down.weight`, shape: [s.nFf, nEmbd], kind: 'matrix' },
      { name: `${b}post_ffw_norm.weight`, shape: [nEmbd], kind: 'vector' },
    );
    if (s.ownsKv) {
      plan.push(
        { name: `${b}attn_k.weight`, shape: [nEmbd, s.kvDim], kind: 'matrix' },
        // Without attn_v the values are the keys' projection (llama.cpp: Vcur = Kcur before the norms).
        { name: `${b}attn_v.weight`, shape: [nEmbd, s.kvDim], kind: 'matrix', optional: true },
        { name: `${b}attn_k_norm.weight`, shape: [s.headDim], kind: 'vector' },
      );
    }
    if (nPl > 0) {
      plan.push(
        { name: `${b}inp_gate.weight`, shape: [nEmbd, nPl], kind: 'matrix' },
        { name: `${b}proj.weight`, shape: [nPl, nEmbd], kind: 'matrix' },
        { name: `${b}post_norm.weight`, shape: [nEmbd], kind: 'vector' },
      );
    }
  });
  return plan;
}

/** Layer l's rope, both paths: its own rotated width and base; only full layers rotate through rope_freqs (proportional rope). */
function gemma4Rope(hp: Hyperparams, w: ModelWeights, l: number): Omit<RopeParams, 'nHeads' | 'startPos'> {
  const shape = hp.gemma4!.layers[l];
  const { freqBase, freqScale } = layerAttention(hp, l);
  return { headDim: shape.headDim, nRot: shape.ropeDim, freqBase, freqScale, neox: true, freqFactors: shape.swa ? undefined : w.ropeFreqs };
}

/** Layer l's attention, both paths: its own heads and head size, its window. */
function gemma4Attention(hp: Hyperparams, kv: KvCache, l: number): DecodeAttentionParams {
  const { nHeads, nKvHeads, headDim } = hp.gemma4!.layers[l];
  return { nHeads, nKvHeads, headDim, scale: hp.attnScale, slidingWindow: layerAttention(hp, l).window, kvType: kv.kvType };
}

/**
 * The decode step's per-layer inputs, every layer's at once, from x (the
 * scaled token embedding, before layer 0): the model projections into
 * scratch.pleProj (layer-major), then each normed, added to the token's
 * table rows (scratch.pleRows, uploaded before the step) and scaled.
 */
export function recordGemma4TokenInputs(ops: DecodeOps, hp: Hyperparams, w: ModelWeights, s: Scratch): void {
  const nPl = hp.gemma4!.nEmbdPerLayer;
  if (nPl === 0) return;
  ops.project(s.x, w.perLayerModelProj!.map((m, l) => ({ w: m, outOffset: l * nPl })), s.pleProj!);
  // The token's row, gathered where the table is on the GPU (else uploaded before the step: Model.beforeStep).
  if (w.perLayerTable) ops.embed(w.perLayerTable, s.ids, s.pleRows!);
  const rowsScale = w.perLayerTable ? perLayerRowScale(hp) : 1;
  ops.perLayerInputs(s.pleProj!, s.pleRows!, w.perLayerProjNorm!, { nLayers: hp.nLayers, nPerLayer: nPl, nEmbd: hp.nEmbd, eps: hp.rmsEps, rowsScale });
}

/**
 * Layer l for the decode step's token (recordGemma4Layer's math with n = 1,
 * in the decode pass's kernels): the norm folded into q (and k and v where
 * the layer owns its cache), q/k norms, v's RMSNorm, rope and the cache
 * write folded into attention (q only on a shared cache); the output and
 * down projections each followed by its post-norm and residual add
 * (addNormed, which the recorder folds into the next matvec); gate, up and
 * GELU in one; the per-layer input's gate with its GELU times the input in
 * the matvec's epilogue; layer_output_scale in the last residual add.
 */
export function recordGemma4Token(ops: DecodeOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number): void {
  const shape = hp.gemma4!.layers[l];
  const { nHeads, nKvHeads, headDim, kvDim, kvLayer, ownsKv } = shape;
  const { nEmbd, rmsEps: eps } = hp;
  const qDim = nHeads * headDim;
  const projections: Projection[] = [{ w: layer.wq!, outOffset: 0 }];
  if (ownsKv) projections.push({ w: layer.wk!, outOffset: qDim }, { w: layer.wv!, outOffset: qDim + kvDim });
  ops.project(s.x, projections, s.qkv, { norm: { weight: layer.attnNorm, eps } });
  const keys = kv.keys[kvLayer];
  const values = kv.values[kvLayer];
  ops.ropeAndStore(s.qkv, keys, values, {
    ...gemma4Rope(hp, w, l),
    nHeads,
    nKvHeads,
    qNorm: layer.qNorm,
    kNorm: ownsKv ? layer.kNorm : undefined,
    vNorm: true,
    sharedKv: !ownsKv,
    eps,
    kvType: kv.kvType,
  });
  ops.attend(s.qkv, keys, values, s.attn, gemma4Attention(hp, kv, l));
  ops.project(s.attn, [{ w: layer.wo!, outOffset: 0 }], s.xb);
  ops.addNormed(s.x, s.xb, layer.attnPostNorm!, nEmbd, eps);
  ops.gatedProject(s.x, { weight: layer.ffnNorm, eps }, layer.wGate, layer.wUp, s.gate, 'gelu');
  ops.project(s.gate, [{ w: layer.wDown, outOffset: 0 }], s.xb);
  const nPl = hp.gemma4!.nEmbdPerLayer;
  const scale = layer.outputScale ?? 1;
  ops.addNormed(s.x, s.xb, layer.ffnPostNorm!, nEmbd, eps, nPl > 0 ? 1 : scale);
  if (nPl === 0) return;
  ops.project(s.x, [{ w: layer.perLayerGate!, outOffset: 0 }], s.gate, { gateIn: { input: s.pleProj!, offset: l * nPl } });
  ops.project(s.gate, [{ w: layer.perLayerProj!, outOffset: 0 }], s.xb);
  ops.addNormed(s.x, s.xb, layer.perLayerPostNorm!, nEmbd, eps, scale);
}

/** x is the scaled token embedding: keep a copy, the per-layer inputs project it at every layer. */
export function recordGemma4Embedding(ops: GpuOps, hp: Hyperparams, w: ModelWeights, s: Scratch, n: number): void {
  const nPl = hp.gemma4!.nEmbdPerLayer;
  if (nPl === 0) return;
  ops.copy(s.x, 0, s.pleInput!, 0, n * hp.nEmbd);
  // The batch's table rows, layer-major and scaled as PerLayerTokenRows uploads them, where the table is on the GPU.
  if (w.perLayerTable) {
    ops.embedRows(w.perLayerTable, s.ids, s.pleRows!, n, nPl);
    ops.scale(s.pleRows!, perLayerRowScale(hp), n * hp.nLayers * nPl);
  }
}

/** One gemma4 block over n tokens at positions startPos.. (llama.cpp's graph, step by step). */
export function recordGemma4Layer(ops: GpuOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, kv: KvCache, s: Scratch, l: number, n: number, startPos: number): void {
  const shape = hp.gemma4!.layers[l];
  const { nHeads, nKvHeads, headDim, kvDim, nFf, kvLayer } = shape;
  const { nEmbd, rmsEps: eps } = hp;
  const rope = { ...gemma4Rope(hp, w, l), startPos };
  ops.rmsNorm(s.x, layer.attnNorm, s.xb, n, nEmbd, eps);
  ops.matmul(layer.wq!, s.xb, s.q, n);
  ops.rmsNorm(s.q, layer.qNorm!, s.q, n * nHeads, headDim, eps);
  ops.rope(s.q, n, { ...rope, nHeads });
  if (shape.ownsKv) {
    ops.matmul(layer.wk!, s.xb, s.k, n);
    ops.matmul(layer.wv!, s.xb, s.v, n);
    ops.rmsNorm(s.k, layer.kNorm!, s.k, n * nKvHeads, headDim, eps);
    ops.rmsNorm(s.v, null, s.v, n * nKvHeads, headDim, eps);
    ops.rope(s.k, n, { ...rope, nHeads: nKvHeads });
    ops.writeCacheRows(s.k, kv.keys[kvLayer], startPos, n, kvDim, kv.kvType);
    ops.writeCacheRows(s.v, kv.values[kvLayer], startPos, n, kvDim, kv.kvType);
  }
  ops.attention(s.q, kv.keys[kvLayer], kv.values[kvLayer], s.attn, { nTokens: n, startPos, ...gemma4Attention(hp, kv, l) });
  ops.matmul(layer.wo!, s.attn, s.xb, n);
  ops.rmsNorm(s.xb, layer.attnPostNorm!, s.xb, n, nEmbd, eps);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
  ops.rmsNorm(s.x, layer.ffnNorm, s.xb, n, nEmbd, eps);
  ops.matmul(layer.wGate, s.xb, s.gate, n);
  ops.matmul(layer.wUp, s.xb, s.up, n);
  ops.geluMul(s.gate, s.up, s.gate, n * nFf);
  ops.matmul(layer.wDown, s.gate, s.xb, n);
  ops.rmsNorm(s.xb, layer.ffnPostNorm!, s.xb, n, nEmbd, eps);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
  if (hp.gemma4!.nEmbdPerLayer > 0) recordPerLayerInput(ops, hp, w, layer, s, l, n);
  if (layer.outputScale !== undefined) ops.scale(s.x, layer.outputScale, n * nEmbd);
}

/**
 * x += rmsnorm(proj . (gelu(inp_gate . x) * input_l)) * post_norm, where
 * input_l = (rmsnorm(model_proj_l . x0 / sqrt(nEmbd)) * proj_norm + rows_l) / sqrt(2),
 * x0 the scaled token embedding and rows_l this layer's slice of the table
 * rows (already times sqrt(nEmbdPerLayer), layer-major: gathered by
 * recordGemma4Embedding, or uploaded from the file).
 */
function recordPerLayerInput(ops: GpuOps, hp: Hyperparams, w: ModelWeights, layer: LayerWeights, s: Scratch, l: number, n: number): void {
  const f = Math.fround;
  const { nEmbd, rmsEps: eps } = hp;
  const nPl = hp.gemma4!.nEmbdPerLayer;
  const count = n * nPl;
  const input = s.pleProj!;
  ops.matmul(w.perLayerModelProj![l], s.pleInput!, input, n);
  ops.scale(input, f(1 / f(Math.sqrt(nEmbd))), count);
  ops.rmsNorm(input, w.perLayerProjNorm!, input, n, nPl, eps);
  ops.copy(s.pleRows!, l * count, s.up, 0, count);
  ops.add(input, s.up, input, count);
  ops.scale(input, f(1 / f(Math.SQRT2)), count);
  ops.matmul(layer.perLayerGate!, s.x, s.gate, n);
  ops.geluMul(s.gate, input, s.gate, count);
  ops.matmul(layer.perLayerProj!, s.gate, s.xb, n);
  ops.rmsNorm(s.xb, layer.perLayerPostNorm!, s.xb, n, nEmbd, eps);
  ops.add(s.x, s.xb, s.x, n * nEmbd);
}

/** Scratch lengths (f32) the per-layer inputs need for a batch of `capacity` tokens. */
export function gemma4ScratchLayout(hp: Hyperparams, capacity: number): ['pleInput' | 'pleProj' | 'pleRows', number][] {
  const nPl = hp.gemma4?.nEmbdPerLayer ?? 0;
  if (nPl === 0) return [];
  return [
    ['pleInput', capacity * hp.nEmbd],
    // The decode pass projects every layer's at once.
    ['pleProj', Math.max(capacity, hp.nLayers) * nPl],
    ['pleRows', capacity * hp.nLayers * nPl],
  ];
}

/**
 * The per-layer embedding table's rows from the file, where the table is
 * not on the GPU (E2B's is 262144 tokens x 35 layers x 256, 2.3 GiB even in
 * Q8_0): per batch and per decode step, each token's row is read from the
 * byte source, dequantized on the CPU, scaled by sqrt(nEmbdPerLayer)
 * (llama.cpp's order: get_rows, then scale) and uploaded layer-major into
 * scratch.pleRows.
 */
export class PerLayerTokenRows {
  private readonly staging: Float32Array<ArrayBuffer>;
  /** One token's row, decoded (reused). */
  private readonly row: Float32Array;
  private readonly rowBytes: number;
  private readonly rowLength: number;
  private readonly scale: number;

  /** `table` as perLayerTableTensor checked it. */
  constructor(
    private readonly source: ByteSource,
    private readonly table: GgufTensorInfo,
    private readonly hp: Hyperparams,
    capacity: number,
    private readonly dequantizeInto: (type: GgmlType, bytes: Uint8Array, out: Float32Array, elements: number) => void,
  ) {
    this.rowLength = table.shape[0];
    this.rowBytes = weightRowBytes(table.type, this.rowLength);
    this.scale = perLayerRowScale(hp);
    this.staging = new Float32Array(capacity * this.rowLength);
    this.row = new Float32Array(this.rowLength);
  }

  /** Gathers the rows of `tokens` and writes them into `out` (layer-major: [layer][token][nEmbdPerLayer]). */
  async upload(device: GPUDevice, tokens: readonly number[], out: ActBuffer): Promise<void> {
    const n = tokens.length;
    // The reads go out together (a Blob slice each in the browser), then each row is spread over the layers.
    const rows = await Promise.all(tokens.map((id) => this.read(id)));
    for (let t = 0; t < n; t++) this.spread(rows[t], t, n);
    device.queue.writeBuffer(out.buffer, 0, this.staging, 0, n * this.rowLength);
  }

  /** upload of one token (a decode step's): nothing allocated here but the source's read. */
  async uploadOne(device: GPUDevice, id: number, out: ActBuffer): Promise<void> {
    this.spread(await this.read(id), 0, 1);
    device.queue.writeBuffer(out.buffer, 0, this.staging, 0, this.rowLength);
  }

  private read(id: number): Promise<Uint8Array> {
    return this.source.read(this.table.fileOffset + id * this.rowBytes, this.rowBytes);
  }

  /** Token t's row (of n in the batch), decoded and scaled into its layer-major places in the staging. */
  private spread(bytes: Uint8Array, t: number, n: number): void {
    const nPl = this.hp.gemma4!.nEmbdPerLayer;
    this.dequantizeInto(this.table.type, bytes, this.row, this.rowLength);
    for (let l = 0; l < this.hp.nLayers; l++) {
      const to = (l * n + t) * nPl;
      for (let i = 0; i < nPl; i++) this.staging[to + i] = this.row[l * nPl + i] * this.scale;
    }
  }
}
