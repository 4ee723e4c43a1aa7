// WebClaw's SPM tokenizer against llama.cpp (node-llama-cpp) on the two real
// models in ../shared/models: the same ids for every corpus string, the same
// text back, the same end-of-generation tokens.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMismatches, encodeMismatches } from './tokenizer-agreement';
import { readGguf } from '../../src/gguf/reader';
import { openFileSource } from '../../src/gguf/source-node';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer';
import { TOKENIZER_CORPUS } from './tokenizer-corpus';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const modelsDir = path.resolve(repoRoot, '../shared/models');
const MODELS = ['stories260K.gguf', 'TinyStories-656K-Q8_0.gguf'];
const available = MODELS.every((m) => existsSync(path.join(modelsDir, m)));
if (!available) console.warn(`tokenizer-spm conformance skipped: test models not found in ${modelsDir}`);

async function loadTokenizer(modelPath: string): Promise<Tokenizer> {
  const source = await openFileSource(modelPath);
  try {
    return createTokenizer(await readGguf(source));
  } finally {
    await source.close?.();
  }
}

/**
 * llama.cpp aborts the whole process (std::out_of_range) when a character
 * needs byte fallback and the vocabulary has no byte tokens. Such strings
 * cannot be sent to it; WebClaw emits <unk> for them instead. A string is
 * safe when every character it contains is a token of its own.
 */
function safeForLlamaCpp(tok: Tokenizer, text: string): boolean {
  const texts = new Set<string>();
  for (let id = 0; id < tok.vocabSize; id++) texts.add(tok.tokenText(id));
  if (texts.has('<0x00>')) return true;
  return [...` ${text}`.replaceAll(' ', '\u2581')].every((ch) => texts.has(ch));
}

describe.skipIf(!available).each(MODELS)('SPM tokenizer matches llama.cpp on %s', (modelFile) => {
  const modelPath = path.join(modelsDir, modelFile);
  let model: LlamaModel;
  let tok: Tokenizer;
  let corpus: string[];

  beforeAll(async () => {
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath });
    tok = await loadTokenizer(modelPath);
    corpus = TOKENIZER_CORPUS.filter((t) => safeForLlamaCpp(tok, t));
    console.log(`${modelFile}: comparing ${corpus.length} of ${TOKENIZER_CORPUS.length} corpus strings`);
  });

  afterAll(async () => {
    await model?.dispose();
  });

  for (const parseSpecial of [false, true]) {
    it(`encodes every corpus string to llama.cpp's ids (parseSpecial ${parseSpecial})`, () => {
      expect(corpus.length).toBeGreaterThan(150);
      expect(encodeMismatches(tok, model, corpus, parseSpecial)).toEqual([]);
    });

    it(`decodes llama.cpp's ids to llama.cpp's text (parseSpecial ${parseSpecial})`, () => {
      expect(decodeMismatches(tok, model, corpus, parseSpecial, true)).toEqual([]);
    });
  }

  it('agrees on BOS/EOS and on which tokens end generation', () => {
    expect(tok.bosId).toBe(model.tokens.bos);
    expect(tok.eosId).toBe(model.tokens.eos);
    expect(tok.addBos).toBe(model.tokens.shouldPrependBosToken);
    const theirs = [];
    for (let id = 0; id < tok.vocabSize; id++) if (model.isEogToken(id as Token)) theirs.push(id);
    expect([...tok.eogIds].sort((a, b) => a - b)).toEqual(theirs);
  });

  it('streams token by token to the same text as a whole decode', () => {
    for (const text of corpus) {
      const ids = tok.encode(text, { addSpecial: false });
      const d = tok.createDecoder();
      const streamed = ids.map((id) => d.push(id)).join('') + d.flush();
      // The streaming decoder keeps the first token's leading space (it continues a prompt).
      const whole = tok.decode(ids);
      expect(streamed.endsWith(whole) && streamed.length - whole.length <= 1, JSON.stringify(text)).toBe(true);
    }
  });
});
