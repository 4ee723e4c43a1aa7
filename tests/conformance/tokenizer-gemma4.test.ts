// WebClaw's gemma4 tokenizer against llama.cpp (node-llama-cpp) on the
// synthetic gemma4 vocabulary: BPE merges over "▁"-escaped text, newline
// runs, <0xXX> byte fallback for everything the vocabulary lacks (most of
// the corpus's scripts and emoji), special tokens, BOS always added.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMismatches, encodeMismatches } from './tokenizer-agreement';
import { BytesSource, readGguf } from '../../src/gguf';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer';
import { makeSyntheticGemma4 } from '../fixtures/synthetic-gemma4';
import { TOKENIZER_CORPUS } from './tokenizer-corpus';

const workDir = mkdtempSync(path.join(tmpdir(), 'webclaw-gemma4-tok-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const EXTRA = ['Once upon a time the little girl', 'the  cat\n\nsaw\n\n\na dog', ' leading and trailing ', '<bos>the<end_of_turn>\n<start_of_turn>', 'happy\n'];
const CORPUS = [...TOKENIZER_CORPUS, ...EXTRA];

describe('gemma4 tokenizer matches llama.cpp', () => {
  let model: LlamaModel;
  let tok: Tokenizer;

  beforeAll(async () => {
    const bytes = makeSyntheticGemma4({
      nEmbd: 16, nVocab: 512, layerTypes: [true, false], nHeads: 1, nKvHeadsSwa: 1, nKvHeadsFull: 1, headDimSwa: 8, headDimFull: 16,
      partialRotaryFull: 0.5, nFf: 16, sharedKvLayers: 0, nEmbdPerLayer: 4, slidingWindow: 4, ropeFreqBase: 10000, ropeFreqBaseSwa: 10000, seed: 1,
    });
    const modelPath = path.join(workDir, 'gemma4-vocab.gguf');
    writeFileSync(modelPath, bytes);
    tok = createTokenizer(await readGguf(new BytesSource(bytes)));
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled });
    model = await llama.loadModel({ modelPath, vocabOnly: true });
  });

  afterAll(async () => {
    await model?.dispose();
  });

  for (const parseSpecial of [false, true]) {
    it(`encodes all ${CORPUS.length} corpus strings to llama.cpp's ids (parseSpecial ${parseSpecial})`, () => {
      expect(encodeMismatches(tok, model, CORPUS, parseSpecial)).toEqual([]);
    });

    it(`decodes llama.cpp's ids to llama.cpp's text (parseSpecial ${parseSpecial})`, () => {
      expect(decodeMismatches(tok, model, CORPUS, parseSpecial)).toEqual([]);
    });
  }

  it('agrees on BOS/EOS, adds BOS, and on which tokens end generation', () => {
    expect(tok.bosId).toBe(model.tokens.bos);
    expect(tok.eosId).toBe(model.tokens.eos);
    expect(tok.addBos).toBe(true);
    expect(tok.addBos).toBe(model.tokens.shouldPrependBosToken);
    const theirs: number[] = [];
    for (let id = 0; id < tok.vocabSize; id++) if (model.isEogToken(id as Token)) theirs.push(id);
    expect([...tok.eogIds].sort((a, b) => a - b)).toEqual(theirs);
  });

  it('round-trips every corpus string without a literal "▁" through encode and a streaming decode', () => {
    // A "▁" in the text decodes as a space (as in llama.cpp): the escape is not reversible.
    for (const text of CORPUS.filter((t) => !t.includes('▁'))) {
      const d = tok.createDecoder();
      const streamed = tok.encode(text, { addSpecial: false }).map((id) => d.push(id)).join('') + d.flush();
      expect(streamed, JSON.stringify(text)).toBe(text.replace(/\p{Surrogate}/gu, '\uFFFD'));
    }
  });
});
