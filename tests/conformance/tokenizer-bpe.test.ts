// WebClaw's byte-level BPE tokenizer against llama.cpp (node-llama-cpp) with
// real vocabularies (llama 3, qwen 3) written into vocabulary-only GGUF
// files: the same ids for every corpus string, the same text back.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMismatches, encodeMismatches } from './tokenizer-agreement';
import { BytesSource, readGguf } from '../../src/gguf';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer';
import { BPE_VOCABS, bpeVocabGguf } from './tokenizer-bpe-vocab';
import { TOKENIZER_CORPUS } from './tokenizer-corpus';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workDir = mkdtempSync(path.join(tmpdir(), 'webclaw-bpe-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe.each(Object.keys(BPE_VOCABS))('BPE tokenizer matches llama.cpp with the %s vocabulary', (name) => {
  let model: LlamaModel;
  let tok: Tokenizer;

  beforeAll(async () => {
    const bytes = bpeVocabGguf(repoRoot, BPE_VOCABS[name]);
    const modelPath = path.join(workDir, `${name}.gguf`);
    writeFileSync(modelPath, bytes);
    tok = createTokenizer(await readGguf(new BytesSource(bytes)));
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled });
    model = await llama.loadModel({ modelPath, vocabOnly: true });
  });

  afterAll(async () => {
    await model?.dispose();
  });

  for (const parseSpecial of [false, true]) {
    it(`encodes all ${TOKENIZER_CORPUS.length} corpus strings to llama.cpp's ids (parseSpecial ${parseSpecial})`, () => {
      expect(encodeMismatches(tok, model, TOKENIZER_CORPUS, parseSpecial)).toEqual([]);
    });

    it(`decodes llama.cpp's ids to llama.cpp's text (parseSpecial ${parseSpecial})`, () => {
      expect(decodeMismatches(tok, model, TOKENIZER_CORPUS, parseSpecial)).toEqual([]);
    });
  }

  it('agrees on BOS/EOS and on which tokens end generation', () => {
    expect(tok.bosId).toBe(model.tokens.bos);
    expect(tok.eosId).toBe(model.tokens.eos);
    expect(tok.addBos).toBe(model.tokens.shouldPrependBosToken);
    const theirs: number[] = [];
    for (let id = 0; id < tok.vocabSize; id++) if (model.isEogToken(id as Token)) theirs.push(id);
    expect([...tok.eogIds].sort((a, b) => a - b)).toEqual(theirs);
  });

  it('round-trips every corpus string through encode and a streaming decode', () => {
    for (const text of TOKENIZER_CORPUS) {
      const d = tok.createDecoder();
      const streamed = tok.encode(text, { addSpecial: false }).map((id) => d.push(id)).join('') + d.flush();
      expect(streamed, JSON.stringify(text)).toBe(text.replace(/\p{Surrogate}/gu, '\uFFFD'));
    }
  });
});
