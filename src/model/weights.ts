// Model weights on the GPU: which GGUF tensor feeds which slot, shape checks,
// and the upload itself (one tensor at a time, straight from the byte
// source, so CPU memory holds at most one tensor).

import { ClawError, modelInvalid } from '../errors';
import type { ByteSource, GgufFile, GgufTensorInfo } from '../gguf/types';
import { GgmlType, GGML_TYPES } from '../gguf/types';
import type { WeightMatrix } from '../gpu/ops-api';
import type { Hyperparams } from './hparams';

export interface LayerWeights {
  attnNorm: GPUBuffer;
  wq: WeightMatrix;
  wk: WeightMatrix;
  wv: WeightMatrix;
  wo: WeightMatrix;
  ffnNorm: GPUBuffer;
  wGate: WeightMatrix;
  wUp: WeightMatrix;
  wDown: WeightMatrix;
}

export interface ModelWeights {
  tokenEmbd: WeightMatrix;
  outputNorm: GPUBuffer;
  /** The classifier; the embedding matrix itself when tied. */
  output: WeightMatrix;
  /** llama3 rope scaling: per-pair frequency divisors (rope_freqs.weight). */
  ropeFreqs?: GPUBuffer;
  layers: LayerWeights[];
}

/** How tensors reach the GPU (implemented over the allocator in src/gpu/). */
export interface WeightUploader {
  matrix(name: string, type: GgmlType, rows: number, cols: number, bytes: Uint8Array): Promise<WeightMatrix>;
  vector(name: string, values: Float32Array): Promise<GPUBuffer>;
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

/** The names and shapes (GGUF order: [cols, rows]) of every tensor a llama model needs. */
export function llamaTensorPlan(hp: Hyperparams): { name: string; shape: number[]; kind: 'matrix' | 'vector'; optional?: boolean }[] {
  const { nEmbd, nHeads, headDim, kvDim, nFf, nVocab } = hp;
  const plan: { name: string; shape: number[]; kind: 'matrix' | 'vector'; optional?: boolean }[] = [
    { name: 'token_embd.weight', shape: [nEmbd, nVocab], kind: 'matrix' },
    { name: 'output_norm.weight', shape: [nEmbd], kind: 'vector' },
    { name: 'output.weight', shape: [nEmbd, nVocab], kind: 'matrix', optional: true },
    { name: 'rope_freqs.weight', shape: [hp.ropeDim / 2], kind: 'vector', optional: true },
  ];
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    plan.push(
      { name: `${b}attn_norm.weight`, shape: [nEmbd], kind: 'vector' },
      { name: `${b}attn_q.weight`, shape: [nEmbd, nHeads * headDim], kind: 'matrix' },
      { name: `${b}attn_k.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
      { name: `${b}attn_v.weight`, shape: [nEmbd, kvDim], kind: 'matrix' },
      { name: `${b}attn_output.weight`, shape: [nHeads * headDim, nEmbd], kind: 'matrix' },
      { name: `${b}ffn_norm.weight`, shape: [nEmbd], kind: 'vector' },
      { name: `${b}ffn_gate.weight`, shape: [nEmbd, nFf], kind: 'matrix' },
      { name: `${b}ffn_up.weight`, shape: [nEmbd, nFf], kind: 'matrix' },
      { name: `${b}ffn_down.weight`, shape: [nFf, nEmbd], kind: 'matrix' },
    );
  }
  return plan;
}

export interface LoadWeightsOptions {
  onBytes?: (loadedBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

export async function loadLlamaWeights(
  file: GgufFile,
  source: ByteSource,
  hp: Hyperparams,
  up: WeightUploader,
  decodeVector: VectorDecoder,
  options: LoadWeightsOptions = {},
): Promise<ModelWeights> {
  const table = new TensorTable(file);
  const plan = llamaTensorPlan(hp);
  const present = plan.filter((p) => !p.optional || table.get(p.name));
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
  const slots = new Map<string, WeightMatrix | GPUBuffer>();
  for (let i = 0; i < present.length; i++) {
    options.signal?.throwIfAborted();
    const p = present[i];
    const t = infos[i];
    const bytes = await source.read(t.fileOffset, t.byteSize);
    if (p.kind === 'matrix') {
      slots.set(p.name, await up.matrix(p.name, t.type, p.shape[1], p.shape[0], bytes));
    } else {
      slots.set(p.name, await up.vector(p.name, decodeVector(t.type, bytes, t.elements)));
    }
    loaded += t.byteSize;
    options.onBytes?.(loaded, total);
  }
  const m = (name: string) => slots.get(name) as WeightMatrix;
  const v = (name: string) => slots.get(name) as GPUBuffer;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < hp.nLayers; l++) {
    const b = `blk.${l}.`;
    layers.push({
      attnNorm: v(`${b}attn_norm.weight`),
      wq: m(`${b}attn_q.weight`),
      wk: m(`${b}attn_k.weight`),
      wv: m(`${b}attn_v.weight`),
      wo: m(`${b}attn_output.weight`),
      ffnNorm: v(`${b}ffn_norm.weight`),
      wGate: m(`${b}ffn_gate.weight`),
      wUp: m(`${b}ffn_up.weight`),
      wDown: m(`${b}ffn_down.weight`),
    });
  }
  const tokenEmbd = m('token_embd.weight');
  return {
    tokenEmbd,
    outputNorm: v('output_norm.weight'),
    output: slots.has('output.weight') ? m('output.weight') : tokenEmbd,
    ropeFreqs: slots.has('rope_freqs.weight') ? v('rope_freqs.weight') : undefined,
    layers,
  };
}
