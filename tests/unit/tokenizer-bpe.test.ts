import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { BPE_BYTE_CHARS, cleanUpSpaces } from '../../src/tokenizer/bpe';
import { ggufWithMetadata } from './tokenizer-fixture';

/** 256 byte tokens (id = byte value), then `extra` tokens, then one control token. */
function bpeFile(pre: string, merges: string[], extra: string[], more: Record<string, string | number | boolean> = {}) {
  const tokens = [...BPE_BYTE_CHARS, ...extra, '<|eot_id|>'];
  const file = ggufWithMetadata({
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': pre,
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': tokens.map((t) => (t === '<|eot_id|>' ? 3 : 1)),
    'tokenizer.ggml.merges': merges,
    'tokenizer.ggml.bos_token_id': tokens.length - 1,
    'tokenizer.ggml.eos_token_id': tokens.length - 1,
    ...more,
  });
  const id = (t: string) => tokens.indexOf(t);
  return { tok: createTokenizer(file), id };
}

const b = (ch: string) => ch.charCodeAt(0); // ids of ASCII byte tokens

describe('BPE encoding', () => {
  it('applies the lowest-ranked merge first', () => {
    const bcFirst = bpeFile('qwen2', ['b c', 'a b'], ['bc', 'ab']);
    expect(bcFirst.tok.encode('abc', { addSpecial: false })).toEqual([b('a'), bcFirst.id('bc')]);
    const abFirst = bpeFile('qwen2', ['a b', 'b c'], ['ab', 'bc']);
    expect(abFirst.tok.encode('abc', { addSpecial: false })).toEqual([abFirst.id('ab'), b('c')]);
  });

  it('merges the leftmost occurrence of a pair first', () => {
    const { tok, id } = bpeFile('qwen2', ['a a'], ['aa']);
    expect(tok.encode('aaa', { addSpecial: false })).toEqual([id('aa'), b('a')]);
  });

  it('never merges across pre-tokenizer words', () => {
    // "i Ġ" would join "hi" and " there" if words were not kept apart.
    const { tok, id } = bpeFile('llama-bpe', ['i Ġ', 'h i', 'Ġ t'], ['iĠ', 'hi', 'Ġt']);
    expect(tok.encode('hi t', { addSpecial: false })).toEqual([id('hi'), id('Ġt')]);
  });

  it('takes a whole word that is a token without merging for llama 3, but not for qwen 2', () => {
    const llama = bpeFile('llama-bpe', [], ['xyz']);
    expect(llama.tok.encode('xyz', { addSpecial: false })).toEqual([llama.id('xyz')]);
    const qwen = bpeFile('qwen2', [], ['xyz']);
    expect(qwen.tok.encode('xyz', { addSpecial: false })).toEqual([b('x'), b('y'), b('z')]);
  });

  it('groups digits by three for llama 3 and keeps them single for qwen 2', () => {
    const llama = bpeFile('llama-bpe', ['1 2', '12 3', '4 5'], ['12', '123', '45']);
    expect(llama.tok.encode('12345', { addSpecial: false })).toEqual([llama.id('123'), llama.id('45')]);
    const qwen = bpeFile('qwen2', ['1 2'], ['12']);
    expect(qwen.tok.encode('12', { addSpecial: false })).toEqual([b('1'), b('2')]);
  });

  it('encodes characters outside the merges as their UTF-8 bytes', () => {
    const { tok } = bpeFile('qwen2', [], []);
    expect(tok.encode('é', { addSpecial: false })).toEqual([0xc3, 0xa9]);
  });

  it('adds BOS by default for llama 3 and not for qwen 2', () => {
    const llama = bpeFile('llama-bpe', [], []);
    expect(llama.tok.addBos).toBe(true);
    expect(llama.tok.encode('a')).toEqual([llama.id('<|eot_id|>'), b('a')]);
    expect(bpeFile('qwen2', [], []).tok.encode('a')).toEqual([b('a')]);
  });

  it('splits out control tokens only when asked', () => {
    const { tok, id } = bpeFile('qwen2', [], []);
    expect(tok.encode('a<|eot_id|>', { addSpecial: false, parseSpecial: true })).toEqual([b('a'), id('<|eot_id|>')]);
    expect(tok.encode('a<|eot_id|>', { addSpecial: false })).not.toContain(id('<|eot_id|>'));
  });

  it('rejects an unknown pre-tokenizer with a typed error', () => {
    expect(() => bpeFile('no-such-pre', [], [])).toThrow(ClawError);
    expect(() => bpeFile('no-such-pre', [], [])).toThrow(/tokenizer.ggml.pre/);
  });

  it('rejects a merge without a separating space', () => {
    try {
      bpeFile('qwen2', ['ab'], []);
      throw new Error('expected an error');
    } catch (e) {
      expect((e as ClawError).code).toBe('clw-model-invalid');
      expect((e as ClawError).details.field).toBe('tokenizer.ggml.merges');
    }
  });
});

describe('BPE decoding', () => {
  it('maps byte characters back to bytes, streaming an emoji without breaking it', () => {
    const { tok } = bpeFile('qwen2', [], []);
    const ids = tok.encode('😀!', { addSpecial: false });
    expect(ids).toEqual([0xf0, 0x9f, 0x98, 0x80, b('!')]);
    const d = tok.createDecoder();
    expect(ids.map((i) => d.push(i))).toEqual(['', '', '', '😀', '!']);
    expect(tok.decode(ids)).toBe('😀!');
  });

  it('removes spaces before punctuation for llama 3 but not for qwen 2', () => {
    const llama = bpeFile('llama-bpe', [], []);
    expect(llama.tok.decode(llama.tok.encode('a , b .', { addSpecial: false }))).toBe('a, b.');
    const qwen = bpeFile('qwen2', [], []);
    expect(qwen.tok.decode(qwen.tok.encode('a , b .', { addSpecial: false }))).toBe('a , b .');
  });

  it('cleans contractions the way llama.cpp does', () => {
    expect(cleanUpSpaces("I 'm here")).toBe("I'm here");
    expect(cleanUpSpaces("they 're")).toBe("they're");
    expect(cleanUpSpaces("don 't")).toBe("don 't");
    expect(cleanUpSpaces("a ' b")).toBe("a'b");
    expect(cleanUpSpaces('')).toBe('');
  });

  it('prints control tokens only when asked', () => {
    const { tok, id } = bpeFile('qwen2', [], []);
    expect(tok.decode([b('a'), id('<|eot_id|>')])).toBe('a');
    expect(tok.decode([b('a'), id('<|eot_id|>')], { renderSpecial: true })).toBe('a<|eot_id|>');
    expect(tok.tokenBytes(0x20)).toEqual(Uint8Array.of(0x20));
  });
});
