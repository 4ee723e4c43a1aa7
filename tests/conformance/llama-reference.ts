// llama.cpp (node-llama-cpp 3.21.1, CPU) as the reference engine: the same
// GGUF file in, token ids and next-token probabilities out.

import { existsSync } from 'node:fs';
import type { Token } from 'node-llama-cpp';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedModels = path.resolve(repoRoot, '../shared/models');
export const haveSharedModels = existsSync(path.join(sharedModels, 'stories260K.gguf'));

export interface ReferenceRun {
  promptIds: number[];
  /** Greedy continuation. */
  tokens: number[];
  /** Per generated position: the top probabilities (softmax of the logits), highest first. */
  top: { id: number; p: number }[][];
  text: string;
}

/**
 * llama.cpp's CPU threads spin while they wait; on a small shared machine
 * (2 cores, Dawn's SwiftShader threads beside them) more than one thread
 * makes a tiny model hundreds of times slower. One thread is also what
 * makes its numbers reproducible here.
 */
export const REFERENCE_THREADS = 1;

type Llama = Awaited<ReturnType<typeof import('node-llama-cpp')['getLlama']>>;
let llamaPromise: Promise<Llama> | null = null;

export function getReferenceLlama(): Promise<Llama> {
  llamaPromise ??= import('node-llama-cpp').then(({ getLlama }) => getLlama({ gpu: false, build: 'never', logLevel: 'error' as never }));
  return llamaPromise;
}

/**
 * Greedy generation with llama.cpp, recording the full next-token
 * distribution at each step (temperature 1, no truncation: the softmax of
 * the logits) while feeding back the greedy token.
 */
export interface ReferenceRunOptions {
  /** How many of the most likely tokens to record per step (default 10). */
  topN?: number;
  contextSize?: number;
  /**
   * Stop when llama.cpp's greedy token ends generation (default true). A
   * random synthetic model has no meaningful end token: comparisons over a
   * fixed number of positions keep going through it.
   */
  stopAtEog?: boolean;
  /**
   * Feed these tokens back instead of llama.cpp's own greedy ones (which
   * `tokens` still records): its distributions along another run's
   * sequence.
   */
  feed?: readonly number[];
}

export async function referenceRun(modelPath: string, prompt: string, nPredict: number, options: ReferenceRunOptions = {}): Promise<ReferenceRun> {
  const { topN = 10, contextSize, stopAtEog = true, feed } = options;
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath });
  try {
    const context = await model.createContext({ contextSize: contextSize ?? Math.min(2048, 64 + nPredict + prompt.length * 2), sequences: 1, threads: REFERENCE_THREADS });
    try {
      const seq = context.getSequence();
      const bos = model.tokens.bos;
      const promptIds = [...(bos !== null && model.fileInfo.metadata?.tokenizer?.ggml?.add_bos_token !== false ? [bos] : []), ...model.tokenize(prompt, false)];
      const tokens: number[] = [];
      const top: { id: number; p: number }[][] = [];
      const it = seq.evaluateWithMetadata(promptIds as Token[], { probabilities: true }, {
        temperature: 1,
        topK: 0,
        topP: 1,
        minP: 0,
        // llama.cpp also draws its own token at temperature 1 (we feed back the
        // greedy one instead). Without these, a draw of an end-of-generation
        // token would end the run early at random.
        yieldEogToken: true,
        seed: 1,
      });
      let r = await it.next();
      while (!r.done) {
        const probs = r.value.probabilities;
        let best = -1;
        let bestP = -1;
        const list: { id: number; p: number }[] = [];
        for (const [id, p] of probs) {
          list.push({ id: id as number, p });
          if (p > bestP || (p === bestP && (id as number) < best)) {
            best = id as number;
            bestP = p;
          }
        }
        list.sort((a, b) => b.p - a.p || a.id - b.id);
        top.push(list.slice(0, topN));
        tokens.push(best);
        if (tokens.length >= nPredict || (stopAtEog && model.isEogToken(best as Token))) break;
        r = await it.next((feed ? feed[tokens.length - 1] : best) as Token);
      }
      await it.return();
      return { promptIds, tokens, top, text: model.detokenize(tokens as Token[]) };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}

/** Plain greedy generation (temperature 0), as llama.cpp's own sampler does it. */
export async function referenceGreedy(modelPath: string, prompt: string, nPredict: number): Promise<{ promptIds: number[]; tokens: number[]; text: string }> {
  const llama = await getReferenceLlama();
  const model = await llama.loadModel({ modelPath });
  try {
    const context = await model.createContext({ contextSize: Math.min(2048, 64 + nPredict + prompt.length * 2), sequences: 1, threads: REFERENCE_THREADS });
    try {
      const seq = context.getSequence();
      const bos = model.tokens.bos;
      const promptIds = [...(bos !== null ? [bos] : []), ...model.tokenize(prompt, false)];
      const tokens: number[] = [];
      for await (const t of seq.evaluate(promptIds as Token[], { temperature: 0 })) {
        if (model.isEogToken(t)) break;
        tokens.push(t);
        if (tokens.length >= nPredict) break;
      }
      return { promptIds, tokens, text: model.detokenize(tokens as Token[]) };
    } finally {
      await context.dispose();
    }
  } finally {
    await model.dispose();
  }
}
