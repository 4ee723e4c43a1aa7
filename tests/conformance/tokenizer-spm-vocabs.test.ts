// WebClaw's SPM tokenizer against llama.cpp (node-llama-cpp) with the real
// llama 2 (32k, byte fallback) and gemma 3 (262k, byte fallback, no space
// prefix, thousands of user-defined and control tokens) vocabularies written
// into vocabulary-only GGUF files: the same ids for every corpus string with
// and without special-token parsing, the same text back, the same
// end-of-generation tokens.
//
// Both vocabularies hold all 256 byte tokens, so every character can be
// represented and llama.cpp accepts every corpus string: unlike the
// TinyStories vocabularies (tokenizer-spm.test.ts) nothing is excluded.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel, type LlamaModel, type Token } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytesSource, readGguf } from '../../src/gguf';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer';
import { TOKENIZER_CORPUS } from './tokenizer-corpus';
import { SPM_VOCABS, spmVocabGguf, tinySpmVocabGguf, type SpmVocabSpec } from './tokenizer-spm-vocab';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const workDir = mkdtempSync(path.join(tmpdir(), 'webclaw-spm-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

interface Loaded {
  model: LlamaModel;
  tok: Tokenizer;
}

/** One vocabulary file, opened by llama.cpp and by WebClaw. */
async function load(name: string, spec: SpmVocabSpec | Uint8Array): Promise<Loaded> {
  const bytes = spec instanceof Uint8Array ? spec : spmVocabGguf(repoRoot, spec);
  const modelPath = path.join(workDir, `${name}.gguf`);
  writeFileSync(modelPath, bytes);
  const tok = createTokenizer(await readGguf(new BytesSource(bytes)));
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.disabled });
  const model = await llama.loadModel({ modelPath, vocabOnly: true });
  return { model, tok };
}

/**
 * llama.cpp's own llama_vocab_is_eog. node-llama-cpp's public isEogToken also
 * counts its EOS and EOT ids, which would hide llama.cpp's exceptions (a
 * harmony vocabulary's <|end|> is its EOT by text yet does not end
 * generation), so this asks the binding underneath it.
 */
function llamaCppEogIds({ model, tok }: Loaded): number[] {
  const native = (model as unknown as { _model?: { isEogToken?(id: number): boolean } })._model;
  if (typeof native?.isEogToken !== 'function') throw new Error('node-llama-cpp no longer exposes its native isEogToken');
  const ids: number[] = [];
  for (let id = 0; id < tok.vocabSize; id++) if (native.isEogToken(id)) ids.push(id);
  return ids;
}

const sorted = (ids: Iterable<number>): number[] => [...ids].sort((a, b) => a - b);

describe.each(Object.keys(SPM_VOCABS))('SPM tokenizer matches llama.cpp with the %s vocabulary', (name) => {
  let v: Loaded;

  beforeAll(async () => {
    v = await load(name, SPM_VOCABS[name]);
  });

  afterAll(async () => {
    await v?.model.dispose();
  });

  for (const parseSpecial of [false, true]) {
    it(`encodes all ${TOKENIZER_CORPUS.length} corpus strings to llama.cpp's ids (parseSpecial ${parseSpecial})`, () => {
      const mismatches: { text: string; ours: number[]; theirs: number[] }[] = [];
      for (const text of TOKENIZER_CORPUS) {
        const ours = v.tok.encode(text, { addSpecial: false, parseSpecial });
        const theirs = Array.from(v.model.tokenize(text, parseSpecial), Number);
        if (JSON.stringify(ours) !== JSON.stringify(theirs)) mismatches.push({ text, ours, theirs });
      }
      expect(mismatches).toEqual([]);
    });

    it(`decodes llama.cpp's ids, with and without BOS, to llama.cpp's text (parseSpecial ${parseSpecial})`, () => {
      const mismatches: { ids: number[]; renderSpecial: boolean; ours: string; theirs: string }[] = [];
      for (const text of TOKENIZER_CORPUS) {
        const ids = Array.from(v.model.tokenize(text, parseSpecial), Number);
        for (const seq of [ids, v.tok.bosId === null ? ids : [v.tok.bosId, ...ids]]) {
          for (const renderSpecial of [false, true]) {
            const ours = v.tok.decode(seq, { renderSpecial });
            const theirs = v.model.detokenize(seq as Token[], renderSpecial);
            if (ours !== theirs) mismatches.push({ ids: seq, renderSpecial, ours, theirs });
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }

  it('agrees on BOS/EOS and on which tokens end generation', () => {
    expect(v.tok.bosId).toBe(v.model.tokens.bos);
    expect(v.tok.eosId).toBe(v.model.tokens.eos);
    expect(v.tok.addBos).toBe(v.model.tokens.shouldPrependBosToken);
    expect(sorted(v.tok.eogIds)).toEqual(llamaCppEogIds(v));
  });

  it('round-trips every corpus string through encode and a streaming decode', () => {
    // SPM writes spaces as U+2581, so a text that already holds U+2581 comes
    // back with spaces instead (in llama.cpp too): those strings are left out.
    const corpus = TOKENIZER_CORPUS.filter((t) => !t.includes('\u2581'));
    expect(TOKENIZER_CORPUS.length - corpus.length).toBeLessThan(5);
    const prefix = SPM_VOCABS[name].addSpacePrefix === false ? '' : ' ';
    const mismatches: { text: string; streamed: string }[] = [];
    for (const text of corpus) {
      const d = v.tok.createDecoder();
      const streamed = v.tok.encode(text, { addSpecial: false }).map((id) => d.push(id)).join('') + d.flush();
      // The streaming decoder keeps the space prefix (it continues a prompt).
      const expected = text === '' ? '' : prefix + text.replace(/\p{Surrogate}/gu, '\uFFFD');
      if (streamed !== expected) mismatches.push({ text, streamed });
    }
    expect(mismatches).toEqual([]);
  });
});

describe('gemma 3 end of generation', () => {
  it('ends generation at <end_of_turn>, named as EOS or found by its text as llama.cpp does', async () => {
    // tokenizer_config.json of this package names <end_of_turn> as EOS; the
    // base models' config names <eos>, which leaves <end_of_turn> to be
    // recognised by its text.
    for (const eosOverride of [undefined, '<eos>']) {
      const v = await load(`gemma3-eos-${eosOverride ?? 'config'}`, { ...SPM_VOCABS.gemma3, eosOverride });
      try {
        const endOfTurn = v.tok.encode('<end_of_turn>', { addSpecial: false, parseSpecial: true });
        expect(endOfTurn).toHaveLength(1);
        expect(v.tok.eogIds.has(endOfTurn[0])).toBe(true);
        expect(sorted(v.tok.eogIds)).toEqual(llamaCppEogIds(v));
      } finally {
        await v.model.dispose();
      }
    }
  });
});

describe('end-of-generation tokens found by their text', () => {
  // Each vocabulary holds texts llama.cpp recognises by name; the harmony
  // (<|return|>/<|call|>, <|calls|>/<|flush|>) and <|tool_response>
  // vocabularies trigger its exceptions for <|end|> and </s>.
  const VOCABS: Record<string, string[]> = {
    'eog and fim texts': ['<|end|>', '<eos>', '<turn|>', '[EOT]', '[EOS]', '[e~[', '<｜end▁of▁sentence｜>', '<fim_prefix>', '<fim_pad>', '[PAD]', '<reponame>', '<|file_sep|>', '<|file_separator|>'],
    'harmony': ['<|start|>', '<|channel|>', '<|message|>', '<|end|>', '<|return|>', '<|call|>'],
    'solar-open': ['<|end|>', '<|calls|>', '<|flush|>'],
    'gemma 4': ['<|tool_response>', '<turn|>'],
  };

  it.each(Object.keys(VOCABS))('agrees with llama.cpp on the %s vocabulary: which ids end generation and how each prints', async (name) => {
    const v = await load(`tiny-${name.replaceAll(' ', '-')}`, tinySpmVocabGguf(VOCABS[name]));
    try {
      expect(sorted(v.tok.eogIds)).toEqual(llamaCppEogIds(v));
      const printed: { id: number; renderSpecial: boolean; ours: string; theirs: string }[] = [];
      for (let id = 0; id < v.tok.vocabSize; id++) {
        for (const renderSpecial of [false, true]) {
          // A leading letter keeps the space-prefix removal away from the token under test.
          const seq = [v.tok.encode('a', { addSpecial: false })[0], id];
          const ours = v.tok.decode(seq, { renderSpecial });
          const theirs = v.model.detokenize(seq as Token[], renderSpecial);
          if (ours !== theirs) printed.push({ id, renderSpecial, ours, theirs });
        }
      }
      expect(printed).toEqual([]);
    } finally {
      await v.model.dispose();
    }
  });
});
