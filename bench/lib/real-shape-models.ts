// Benchmark models of real sizes, written to disk in seconds: the tensor
// table of a real model (llama tensor names, shapes and llama-quantize's
// per-tensor types, from the synthetic-model fixture) with tensor data that
// tiles a few quantized rows of Gaussian weights over each matrix.
// Quantizing a billion weights in JavaScript would take 10+ minutes; speed
// and memory do not depend on the values, and the blocks are valid for
// their type, so llama.cpp and WebClaw both load and run these files.
// The files are written where the caller says (a temp dir): never committed.

import { closeSync, openSync, writeSync } from 'node:fs';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType, type GgufTensorInfo } from '../../src/gguf/types';
import { quantize } from '../../src/quant';
import { makeSyntheticModel, type SyntheticModelOptions } from '../../tests/fixtures/synthetic-model';
import type { QuantMix } from '../../tests/fixtures/synthetic-mix';

export type ModelShape = Omit<SyntheticModelOptions, 'type' | 'mix' | 'seed' | 'headerOnly'> & { name: string };

/** TinyLlama-1.1B (llama 2 vocabulary, untied output). */
export const TINYLLAMA_1_1B: ModelShape = { name: 'TinyLlama-1.1B shape', nEmbd: 2048, nLayers: 22, nHeads: 32, nKvHeads: 4, nFf: 5632, nVocab: 32000, ctxLength: 2048 };
/** Llama-3.2-1B (128k vocabulary, output tied to the embeddings). */
export const LLAMA_32_1B: ModelShape = { name: 'Llama-3.2-1B shape', nEmbd: 2048, nLayers: 16, nHeads: 32, nKvHeads: 8, nFf: 8192, nVocab: 128256, ctxLength: 131072, ropeFreqBase: 500000, tied: true };

/**
 * Qwen3.5-0.8B's text model (qwen35): 18 gated delta-net and 6 gated
 * attention layers, 248,320-token vocabulary, output tied to the
 * embeddings; the recurrent state and the decode pass's delta-net kernels
 * at their real size. Its MTP block is left out (the engine does not load it).
 */
export const QWEN35_08B: ModelShape = {
  name: 'Qwen3.5-0.8B shape', arch: 'qwen35', nEmbd: 1024, nLayers: 24, nHeads: 8, nKvHeads: 2, headDim: 256, ropeDim: 64, nFf: 3584, nVocab: 248320,
  ctxLength: 262144, ropeFreqBase: 1e7, tied: true, deltaNet: { stateSize: 128, kHeads: 16, vHeads: 16, convKernel: 4, ropeSections: [11, 11, 10, 0] },
};

/** Llama-3.1-8B (128k vocabulary, untied output): 4.9 GB in Q4_K_M, for a GPU machine (too big for SwiftShader). */
export const LLAMA_31_8B: ModelShape = { name: 'Llama-3.1-8B shape', nEmbd: 4096, nLayers: 32, nHeads: 32, nKvHeads: 8, nFf: 14336, nVocab: 128256, ctxLength: 131072, ropeFreqBase: 500000 };

/**
 * Llama-3-8B's layer count and attention layout (32 layers, head dim 128,
 * 4 query heads per KV head) at an eighth of its width (512; nFf 1792 keeps
 * its 3.5x), with TinyLlama's 32000-token vocabulary: for the per-token JS
 * recording time of a 32-layer decode pass, which depends on the layer
 * count and not on the width. Runs at small-model speed on SwiftShader.
 */
export const LLAMA_3_8B_LAYERS: ModelShape = { name: 'Llama-3-8B layers (32 x 512 wide)', nEmbd: 512, nLayers: 32, nHeads: 4, nKvHeads: 1, nFf: 1792, nVocab: 32000, ctxLength: 8192, ropeFreqBase: 500000 };

/** A tiny llama for smoke tests of the benchmark scripts (seconds on SwiftShader). */
export const TINY_LLAMA: ModelShape = { name: 'tiny llama', nEmbd: 256, nLayers: 2, nHeads: 4, nKvHeads: 2, nFf: 512, nVocab: 512, ctxLength: 512 };

export type Quant = 'Q4_K_M' | 'Q4_0' | 'Q8_0';
export const QUANTS: readonly Quant[] = ['Q4_K_M', 'Q4_0', 'Q8_0'];

/** Model options for a shape and quantization (also used to build tiny models for tests). */
export function shapeOptions(shape: ModelShape, quant: Quant): SyntheticModelOptions {
  const { name: _name, ...rest } = shape;
  const type = quant === 'Q4_0' ? { type: GgmlType.Q4_0 } : quant === 'Q8_0' ? { type: GgmlType.Q8_0 } : { mix: quant as QuantMix };
  return { ...rest, ...type, seed: 1 };
}

/** Distinct quantized rows each matrix tiles. */
export const DISTINCT_ROWS = 8;

export function gaussianRow(n: number, seed: number, sigma: number): Float32Array {
  let s = seed >>> 0;
  const uniform = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 2 ** 32;
  return Float32Array.from({ length: n }, () => sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
}

/** Tensor bytes: a few quantized rows tiled over the rows of a matrix; norm vectors are 1 + small noise. */
function tensorFiller(t: GgufTensorInfo): (start: number, length: number) => Uint8Array {
  const cols = t.shape[0];
  const tile =
    t.shape.length < 2
      ? new Uint8Array(quantize(t.type, gaussianRow(cols, 7, 0.02).map((v) => 1 + v)))
      : (() => {
          const rows = Array.from({ length: DISTINCT_ROWS }, (_, i) => quantize(t.type, gaussianRow(cols, i + 1, 1 / Math.sqrt(cols))));
          const out = new Uint8Array(rows[0].byteLength * DISTINCT_ROWS);
          rows.forEach((r, i) => out.set(r, i * r.byteLength));
          return out;
        })();
  return (start, length) => {
    const out = new Uint8Array(length);
    for (let o = 0; o < length; ) {
      const at = (start + o) % tile.byteLength;
      const n = Math.min(length - o, tile.byteLength - at);
      out.set(tile.subarray(at, at + n), o);
      o += n;
    }
    return out;
  };
}

export interface WrittenModel {
  file: string;
  fileBytes: number;
  /** Sum of every tensor's bytes. */
  tensorBytes: number;
  /** Bytes one decoded token must read: every tensor once, but of the token embedding table one row (unless it is also the output). */
  tokenWeightBytes: number;
  nLayers: number;
  nVocab: number;
  writeMs: number;
}

/** Writes a model of `options` (headerOnly is ignored) to `file` with tiled tensor data. */
export async function writeTiledModel(file: string, options: SyntheticModelOptions): Promise<WrittenModel> {
  const t0 = performance.now();
  const header = makeSyntheticModel({ ...options, headerOnly: true });
  const gguf = await readGguf(new BytesSource(header), { headerOnly: true });
  const fd = openSync(file, 'w');
  let fileBytes = header.byteLength;
  try {
    writeSync(fd, header, 0, header.byteLength, 0);
    const CHUNK = 16 * 2 ** 20;
    for (const t of gguf.tensors) {
      const fill = tensorFiller(t);
      for (let o = 0; o < t.byteSize; o += CHUNK) {
        const part = fill(o, Math.min(CHUNK, t.byteSize - o));
        writeSync(fd, part, 0, part.byteLength, t.fileOffset + o);
      }
      fileBytes = Math.max(fileBytes, t.fileOffset + t.byteSize);
    }
  } finally {
    closeSync(fd);
  }
  return { file, fileBytes, ...weightBytes(gguf.tensors), nLayers: options.nLayers, nVocab: options.nVocab ?? 0, writeMs: performance.now() - t0 };
}

/** Tensor bytes, and the bytes a decoded token must read (see WrittenModel). */
export function weightBytes(tensors: readonly GgufTensorInfo[]): { tensorBytes: number; tokenWeightBytes: number } {
  const tensorBytes = tensors.reduce((a, t) => a + t.byteSize, 0);
  const embd = tensors.find((t) => t.name === 'token_embd.weight');
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const skipped = embd && !tied ? embd.byteSize - embd.byteSize / embd.shape[1] : 0;
  return { tensorBytes, tokenWeightBytes: tensorBytes - skipped };
}
