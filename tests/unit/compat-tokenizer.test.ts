// The compatibility report checks the tokenizer a file names with the
// tokenizer loader's own table (src/tokenizer/support.ts): an unknown
// tokenizer.ggml.model or tokenizer.ggml.pre is "will-not-run" before
// loading, and the load then fails with the very same code and message, before
// it touches the GPU.

import { describe, expect, test } from 'vitest';
import { buildCompatibilityReport } from '../../src/engine/compat';
import { loadSession, type LoaderEnv } from '../../src/engine/loader';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgufValueType, type GgufFile } from '../../src/gguf/types';
import { createTokenizer } from '../../src/tokenizer';
import { supportedBpePresets } from '../../src/tokenizer/bpe-pretokenize';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { TOKEN_TYPE, type VocabSpec } from '../fixtures/synthetic-vocab';

/** A tiny byte-level BPE vocabulary; `model` and `pre` are what the cases vary. */
function bpeVocab(pre: string, model = 'gpt2'): VocabSpec {
  const tokens = ['a', 'b', 'ab', '<|endoftext|>'];
  return {
    tokens,
    scores: tokens.map(() => 0),
    tokenTypes: [TOKEN_TYPE.NORMAL, TOKEN_TYPE.NORMAL, TOKEN_TYPE.NORMAL, TOKEN_TYPE.CONTROL],
    model: model as VocabSpec['model'],
    merges: ['a b'],
    pre,
    bos: 3,
    eos: 3,
  };
}

function modelBytes(vocab: VocabSpec): Uint8Array {
  return makeSyntheticModel({ nEmbd: 8, nLayers: 1, nHeads: 2, nKvHeads: 2, nFf: 16, seed: 1, vocab });
}

async function report(bytes: Uint8Array) {
  const file = await readGguf(new BytesSource(bytes));
  return buildCompatibilityReport(file, { fileBytes: bytes.length });
}

function withString(file: GgufFile, key: string, value: string): GgufFile {
  const metadata = new Map(file.metadata);
  metadata.set(key, { key, type: GgufValueType.STRING, value });
  return { ...file, metadata };
}

/** The load, up to where it would first touch the GPU: a stub context is enough for a refusal that comes before. */
const NO_GPU = { ctx: {} } as unknown as LoaderEnv;

describe('the compatibility report checks the tokenizer as the load does', () => {
  test('a known pre-tokenizer (qwen35) runs, and the loader builds its tokenizer', async () => {
    const bytes = modelBytes(bpeVocab('qwen35'));
    const r = await report(bytes);
    expect(r.issues).toEqual([]);
    expect(r.verdict).toBe('runs');
    const tokenizer = createTokenizer(await readGguf(new BytesSource(bytes)));
    expect(tokenizer.encode('ab', { addSpecial: false })).toEqual([2]);
  });

  test('every pre-tokenizer the loader has passes the report', async () => {
    const file = await readGguf(new BytesSource(modelBytes(bpeVocab('qwen35'))));
    for (const pre of supportedBpePresets()) {
      const r = buildCompatibilityReport(withString(file, 'tokenizer.ggml.pre', pre), { fileBytes: 0 });
      expect(r.issues, pre).toEqual([]);
    }
  });

  test('a SentencePiece vocabulary ignores tokenizer.ggml.pre, as llama.cpp does', async () => {
    const file = await readGguf(new BytesSource(makeSyntheticModel({ nEmbd: 8, nLayers: 1, nHeads: 2, nKvHeads: 2, nFf: 16, seed: 1 })));
    const spm = withString(file, 'tokenizer.ggml.pre', 'no-such-pre');
    expect(buildCompatibilityReport(spm, { fileBytes: 0 }).issues).toEqual([]);
    expect(createTokenizer(spm).vocabSize).toBeGreaterThan(0);
  });

  const unknown: [string, VocabSpec, RegExp][] = [
    ['an unknown pre-tokenizer', bpeVocab('qwen35-no-marks'), /^pre-tokenizer "qwen35-no-marks" \(tokenizer\.ggml\.pre\) is not supported; supported pre-tokenizers: .*\bqwen35\b/],
    ['an unknown tokenizer model', bpeVocab('qwen35', 't5'), /^tokenizer "t5" \(tokenizer\.ggml\.model\) is not supported; supported tokenizers: llama, gpt2, gemma4$/],
  ];
  for (const [what, vocab, message] of unknown) {
    test(`${what} does not run, naming the value; the load fails with the same code and message`, async () => {
      const bytes = modelBytes(vocab);
      const r = await report(bytes);
      expect(r.verdict).toBe('will-not-run');
      expect(r.architectureSupported).toBe(true);
      expect(r.issues).toHaveLength(1);
      const [issue] = r.issues;
      expect(issue).toMatchObject({ code: 'clw-arch-unsupported', severity: 'error' });
      expect(issue.message).toMatch(message);
      await expect(loadSession(NO_GPU, new BytesSource(bytes), {})).rejects.toMatchObject({ code: issue.code, message: issue.message });
    });
  }

  test('a tokenizer.ggml.model that is not a string is a malformed file, in the report and at load', async () => {
    const file = await readGguf(new BytesSource(modelBytes(bpeVocab('qwen35'))));
    const metadata = new Map(file.metadata);
    metadata.set('tokenizer.ggml.model', { key: 'tokenizer.ggml.model', type: GgufValueType.UINT32, value: 2 });
    const bad = { ...file, metadata };
    const [issue] = buildCompatibilityReport(bad, { fileBytes: 0 }).issues;
    expect(issue).toMatchObject({ code: 'clw-model-invalid', severity: 'error' });
    expect(issue.message).toContain('tokenizer.ggml.model');
    expect(() => createTokenizer(bad)).toThrow(expect.objectContaining({ code: issue.code, message: issue.message }));
  });
});
