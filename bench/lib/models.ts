// The models a generation benchmark runs: the shared test models, a small
// synthetic llama, small synthetic gemma3, qwen35 and gemma4, a 32-layer narrow llama (LLAMA_3_8B_LAYERS: the JS
// recording time of a 32-layer pass), and real-shape files (TinyLlama-1.1B
// and Llama-3.2-1B shapes in Q4_K_M, Q4_0 and Q8_0) written into a temp dir
// at bench time.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { metaNumber, metaString } from '../../src/gguf/metadata';
import { readGguf } from '../../src/gguf/reader';
import { openFileSource } from '../../src/gguf/source-node';
import { GgmlType } from '../../src/gguf/types';
import { createTokenizer } from '../../src/tokenizer';
import { haveSharedModels, sharedModels } from '../../tests/conformance/llama-reference';
import { makeSyntheticModel } from '../../tests/fixtures/synthetic-model';
import { makeSyntheticGemma4 } from '../../tests/fixtures/synthetic-gemma4';
import { LLAMA_32_1B, LLAMA_3_8B_LAYERS, shapeOptions, TINYLLAMA_1_1B, weightBytes, writeTiledModel, type Quant } from './real-shape-models';

export interface BenchModel {
  label: string;
  kind: 'shared' | 'small' | 'layers' | 'real';
  file: string;
  fileBytes: number;
  tensorBytes: number;
  tokenWeightBytes: number;
  nLayers: number;
  nVocab: number;
  trainCtx: number;
  encode: (text: string) => number[];
}

/** Facts the benchmark needs from a GGUF file on disk. */
export async function describeModel(label: string, kind: BenchModel['kind'], file: string): Promise<BenchModel> {
  const source = await openFileSource(file);
  try {
    const gguf = await readGguf(source);
    const arch = metaString(gguf, 'general.architecture');
    const tokenizer = createTokenizer(gguf);
    const { tensorBytes, tokenWeightBytes } = weightBytes(gguf.tensors);
    return {
      label,
      kind,
      file,
      fileBytes: source.size,
      tensorBytes,
      tokenWeightBytes,
      nLayers: metaNumber(gguf, `${arch}.block_count`),
      nVocab: tokenizer.vocabSize,
      trainCtx: metaNumber(gguf, `${arch}.context_length`, 2048),
      encode: (text) => tokenizer.encode(text, { addSpecial: true }),
    };
  } finally {
    await source.close?.();
  }
}

/** Writes (where needed) and describes every model `keep` accepts. */
export async function benchModels(dir: string, keep: (label: string) => boolean, realQuants: readonly Quant[], log: (line: string) => void): Promise<BenchModel[]> {
  const out: BenchModel[] = [];
  if (haveSharedModels) {
    for (const [label, name] of [
      ['stories260K (F32)', 'stories260K.gguf'],
      ['TinyStories-656K (Q8_0)', 'TinyStories-656K-Q8_0.gguf'],
    ]) {
      if (keep(label)) out.push(await describeModel(label, 'shared', path.join(sharedModels, name)));
    }
  }
  // Small synthetic files, written whole: a llama; gemma3's post-norms (their residual adds folded into the next
  // matvec of the decode pass), 5 local : 1 global; qwen35's hybrid layers (6 gated delta-net : 2 gated attention);
  // gemma4's per-layer shapes, shared caches and per-layer inputs (E2B's layout in small: 4 sliding : 1 full, the
  // last 4 layers on shared caches).
  const small: [label: string, file: string, make: () => Uint8Array][] = [
    ['synthetic llama 512x4 (Q4_K_M)', 'synthetic-512x4-Q4_K_M.gguf', () => makeSyntheticModel({ nEmbd: 512, nLayers: 4, nHeads: 8, nKvHeads: 4, nFf: 1536, ctxLength: 2048, seed: 3, mix: 'Q4_K_M' })],
    [
      'synthetic gemma3 512x6 (Q4_K_M)',
      'synthetic-gemma3-512x6-Q4_K_M.gguf',
      () => makeSyntheticModel({ arch: 'gemma3', nEmbd: 512, nLayers: 6, nHeads: 8, nKvHeads: 4, headDim: 64, nFf: 1536, ctxLength: 2048, slidingWindow: 512, slidingWindowPattern: 6, seed: 3, mix: 'Q4_K_M' }),
    ],
    [
      'synthetic qwen35 512x8 (Q4_K_M)',
      'synthetic-qwen35-512x8-Q4_K_M.gguf',
      () =>
        makeSyntheticModel({
          arch: 'qwen35', nEmbd: 512, nLayers: 8, nHeads: 4, nKvHeads: 2, headDim: 128, ropeDim: 32, nFf: 1536, ctxLength: 2048, seed: 3, mix: 'Q4_K_M',
          deltaNet: { stateSize: 64, kHeads: 4, vHeads: 8, convKernel: 4, ropeSections: [3, 3, 2, 0] },
        }),
    ],
    [
      'synthetic gemma4 512x10 (Q8_0)',
      'synthetic-gemma4-512x10-Q8_0.gguf',
      () =>
        makeSyntheticGemma4({
          nEmbd: 512, nVocab: 4096, layerTypes: [true, true, true, true, true, false, true, true, true, false], nHeads: 8, nKvHeadsSwa: 1, nKvHeadsFull: 1,
          headDimSwa: 64, headDimFull: 128, partialRotaryFull: 0.25, nFf: 1024, sharedKvLayers: 4, nEmbdPerLayer: 64,
          slidingWindow: 512, ropeFreqBase: 1000000, ropeFreqBaseSwa: 10000, finalSoftcap: 30, ctxLength: 2048, type: GgmlType.Q8_0, seed: 3,
        }),
    ],
  ];
  for (const [label, name, make] of small) {
    if (!keep(label)) continue;
    const file = path.join(dir, name);
    writeFileSync(file, make());
    out.push(await describeModel(label, 'small', file));
  }
  const layers = `${LLAMA_3_8B_LAYERS.name} (Q4_K_M)`;
  if (keep(layers)) {
    const file = path.join(dir, 'llama-3-8b-layers-Q4_K_M.gguf');
    await writeTiledModel(file, shapeOptions(LLAMA_3_8B_LAYERS, 'Q4_K_M'));
    out.push(await describeModel(layers, 'layers', file));
  }
  for (const shape of [TINYLLAMA_1_1B, LLAMA_32_1B]) {
    for (const quant of realQuants) {
      const label = `${shape.name} (${quant})`;
      if (!keep(label)) continue;
      const file = path.join(dir, `${shape.name.replace(/\W+/g, '-')}-${quant}.gguf`);
      const written = await writeTiledModel(file, shapeOptions(shape, quant));
      log(`wrote ${label}: ${(written.fileBytes / 2 ** 20).toFixed(0)} MiB in ${(written.writeMs / 1000).toFixed(1)} s`);
      out.push(await describeModel(label, 'real', file));
    }
  }
  return out;
}
