import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { spmFile, spmVocab } from './tokenizer-fixture';

function invalidField(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ClawError);
    expect((e as ClawError).code).toBe('clw-model-invalid');
    return (e as ClawError).details.field as string;
  }
  throw new Error('expected a clw-model-invalid error');
}

describe('tokenizer metadata', () => {
  const vocab = spmVocab([{ text: '▁a' }]);

  it('rejects a file without tokenizer.ggml.tokens', () => {
    expect(invalidField(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.tokens': undefined })))).toBe('tokenizer.ggml.tokens');
  });

  it('rejects a file without tokenizer.ggml.model', () => {
    expect(invalidField(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.model': undefined })))).toBe('tokenizer.ggml.model');
  });

  it('turns away a tokenizer model it does not implement, naming it', () => {
    expect(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.model': 'wordpiece' }))).toThrow(
      expect.objectContaining({ code: 'clw-arch-unsupported', details: { field: 'tokenizer.ggml.model', value: 'wordpiece' } }),
    );
  });

  it('rejects scores whose count differs from the token count', () => {
    expect(invalidField(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.scores': [0, 0] })))).toBe('tokenizer.ggml.scores');
  });

  it('rejects a token type outside the known range', () => {
    const types = vocab.map(() => 1);
    types[5] = 9;
    expect(invalidField(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.token_type': types })))).toBe('tokenizer.ggml.token_type');
  });

  it('rejects a BOS id outside the vocabulary', () => {
    expect(invalidField(() => createTokenizer(spmFile(vocab, { 'tokenizer.ggml.bos_token_id': 100000 })))).toBe('tokenizer.ggml.bos_token_id');
  });

  it('rejects add_bos_token when the model has no BOS token', () => {
    const file = spmFile(vocab, { 'tokenizer.ggml.bos_token_id': 0xffffffff, 'tokenizer.ggml.add_bos_token': true });
    expect(invalidField(() => createTokenizer(file))).toBe('tokenizer.ggml.add_bos_token');
  });

  it('reads "no token" (0xFFFFFFFF) as null', () => {
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.bos_token_id': 0xffffffff, 'tokenizer.ggml.add_bos_token': false }));
    expect(tok.bosId).toBeNull();
    expect(tok.encode('a')).toEqual([vocab.length - 1]);
  });

  it('exposes the special ids and flags', () => {
    const tok = createTokenizer(spmFile(vocab));
    expect(tok.vocabSize).toBe(vocab.length);
    expect([tok.bosId, tok.eosId, tok.addBos, tok.addEos]).toEqual([1, 2, true, false]);
  });

  it('collects end-of-generation ids from eos, eot and well-known turn-end texts', () => {
    const v = spmVocab([{ text: '<|im_end|>' }, { text: '<end_of_turn>', type: 3 }, { text: '<|custom_eot|>', type: 3 }]);
    const tok = createTokenizer(spmFile(v, { 'tokenizer.ggml.eot_token_id': v.length - 1 }));
    expect([...tok.eogIds].sort((a, b) => a - b)).toEqual([2, v.length - 3, v.length - 2, v.length - 1]);
    // A turn-end text becomes a control token even when typed normal: it prints nothing.
    expect(tok.decode([v.length - 3])).toBe('');
  });
});
