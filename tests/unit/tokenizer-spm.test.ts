import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { spmFile, spmVocab, type VocabEntry } from './tokenizer-fixture';

const BYTE0 = 3; // id of <0x00> in spmVocab
const byteId = (b: number) => BYTE0 + b;

/** Ids after the 259 base tokens, by text. */
function vocabWith(entries: VocabEntry[], options?: { byteTokens?: boolean }) {
  const vocab = spmVocab(entries, options);
  const id = (text: string) => {
    const i = vocab.findIndex((e) => e.text === text);
    if (i < 0) throw new Error(`no token ${text}`);
    return i;
  };
  return { vocab, id };
}

describe('SPM encoding', () => {
  it('merges the highest-scoring pair first', () => {
    const { vocab, id } = vocabWith([{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'ab', score: -2 }, { text: 'bc', score: -1 }]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    // "bc" outscores "ab", so b pairs with c and a stays alone.
    expect(tok.encode('abc', { addSpecial: false })).toEqual([id('a'), id('bc')]);
  });

  it('breaks score ties in favour of the leftmost pair', () => {
    const { vocab, id } = vocabWith([{ text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'ab', score: -1 }, { text: 'bc', score: -1 }]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('abc', { addSpecial: false })).toEqual([id('ab'), id('c')]);
  });

  it('keeps merging merged symbols into longer tokens', () => {
    const { vocab, id } = vocabWith([
      { text: 'a' }, { text: 'b' }, { text: 'c' }, { text: 'd' },
      { text: 'ab', score: -1 }, { text: 'cd', score: -2 }, { text: 'abcd', score: -3 }, { text: 'bc', score: -4 },
    ]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('abcd', { addSpecial: false })).toEqual([id('abcd')]);
    expect(tok.encode('abcdab', { addSpecial: false })).toEqual([id('abcd'), id('ab')]);
  });

  it('escapes spaces to U+2581 and adds the leading space the model was trained with', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: 'h' }, { text: 'i' }, { text: '▁h', score: -1 }, { text: '▁hi', score: -0.5 }]);
    const tok = createTokenizer(spmFile(vocab));
    expect(tok.encode('hi hi', { addSpecial: false })).toEqual([id('▁hi'), id('▁hi')]);
    expect(tok.encode(' hi', { addSpecial: false })).toEqual([id('▁'), id('▁hi')]);
    const noPrefix = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(noPrefix.encode('hi', { addSpecial: false })).toEqual([id('h'), id('i')]);
  });

  it('adds BOS by default and EOS only when the model asks', () => {
    const { vocab, id } = vocabWith([{ text: '▁a' }]);
    expect(createTokenizer(spmFile(vocab)).encode('a')).toEqual([1, id('▁a')]);
    expect(createTokenizer(spmFile(vocab)).encode('')).toEqual([1]);
    const withEos = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_bos_token': false, 'tokenizer.ggml.add_eos_token': true }));
    expect(withEos.encode('a')).toEqual([id('▁a'), 2]);
  });

  it('falls back to byte tokens for characters the vocabulary lacks', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: 'x' }]);
    const tok = createTokenizer(spmFile(vocab));
    // é is C3 A9 in UTF-8.
    expect(tok.encode('xé', { addSpecial: false })).toEqual([id('▁'), id('x'), byteId(0xc3), byteId(0xa9)]);
  });

  it('uses the unknown token when there are no byte tokens, instead of failing', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: 'x' }], { byteTokens: false });
    const tok = createTokenizer(spmFile(vocab));
    expect(tok.encode('x€', { addSpecial: false })).toEqual([id('▁'), id('x'), 0, 0, 0]);
  });

  it('treats control tokens written as text as plain text unless asked to parse them', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: '<' }, { text: 's' }, { text: '>' }, { text: 'x' }]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('<s>x', { addSpecial: false })).toEqual([id('<'), id('s'), id('>'), id('x')]);
    expect(tok.encode('<s>x', { addSpecial: false, parseSpecial: true })).toEqual([1, id('x')]);
    expect(tok.encode('x</s><s>', { addSpecial: false, parseSpecial: true })).toEqual([id('x'), 2, 1]);
  });

  it('adds the leading space again to text that follows a special token', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: 'x' }, { text: '▁x', score: 1 }]);
    const tok = createTokenizer(spmFile(vocab));
    expect(tok.encode('x</s>x', { addSpecial: false, parseSpecial: true })).toEqual([id('▁x'), 2, id('▁x')]);
  });

  it('always splits out user-defined tokens', () => {
    const { vocab, id } = vocabWith([{ text: '▁' }, { text: 'x' }, { text: '<tool>', type: 4 }]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('x<tool>x', { addSpecial: false })).toEqual([id('x'), id('<tool>'), id('x')]);
  });

  it('prefers the longest special token where two overlap', () => {
    const { vocab, id } = vocabWith([{ text: '<|a|>', type: 3 }, { text: '<|a|>b', type: 3 }]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('<|a|>b<|a|>', { addSpecial: false, parseSpecial: true })).toEqual([id('<|a|>b'), id('<|a|>')]);
  });

  it('replaces lone surrogates by U+FFFD before encoding', () => {
    const { vocab } = vocabWith([]);
    const tok = createTokenizer(spmFile(vocab, { 'tokenizer.ggml.add_space_prefix': false }));
    expect(tok.encode('\ud800', { addSpecial: false })).toEqual([byteId(0xef), byteId(0xbf), byteId(0xbd)]);
  });
});

describe('SPM decoding', () => {
  const { vocab, id } = vocabWith([{ text: '▁' }, { text: '▁hi' }, { text: ',' }, { text: 'x' }]);
  const tok = createTokenizer(spmFile(vocab));

  it('turns U+2581 back into spaces and drops the leading space the encoder added', () => {
    expect(tok.decode([id('▁hi'), id('▁hi')])).toBe('hi hi');
    expect(tok.decode(tok.encode('hi hi', { addSpecial: false }))).toBe('hi hi');
  });

  it('keeps the space after a leading BOS, as llama.cpp does', () => {
    expect(tok.decode([1, id('▁hi')])).toBe(' hi');
  });

  it('prints control tokens only when asked', () => {
    expect(tok.decode([id('x'), 2])).toBe('x');
    expect(tok.decode([id('x'), 2], { renderSpecial: true })).toBe('x</s>');
  });

  it('joins byte tokens into characters', () => {
    const ids = [0xf0, 0x9f, 0x98, 0x80].map(byteId);
    expect(tok.decode([id('x'), ...ids])).toBe('x😀');
  });

  it('gives raw bytes per token', () => {
    expect(Array.from(tok.tokenBytes(id('▁hi')))).toEqual([0x20, 0x68, 0x69]);
    expect(Array.from(tok.tokenBytes(byteId(0xe2)))).toEqual([0xe2]);
    expect(tok.tokenText(id('▁hi'))).toBe('▁hi');
  });

  it('streams an emoji split over byte tokens without emitting a broken character', () => {
    const d = tok.createDecoder();
    const out = [id('▁hi'), ...[0xf0, 0x9f, 0x98, 0x80].map(byteId), id(',')].map((i) => d.push(i));
    expect(out).toEqual([' hi', '', '', '', '😀', ',']);
    expect(d.flush()).toBe('');
  });

  it('streams control tokens as nothing and flushes an unfinished character as U+FFFD', () => {
    const d = tok.createDecoder();
    expect(d.push(1)).toBe('');
    expect(d.push(byteId(0xe2))).toBe('');
    expect(d.flush()).toBe('\uFFFD');
  });

  it('rejects ids outside the vocabulary with a typed error', () => {
    expect(() => tok.decode([vocab.length])).toThrow(ClawError);
    expect(() => tok.decode([-1])).toThrow(/outside the vocabulary/);
    expect(() => tok.createDecoder().push(1.5)).toThrow(ClawError);
  });
});

describe('end-of-generation texts', () => {
  it('lists the text of each end-of-generation token, for generation to stop on when a model spells it out', () => {
    const tok = createTokenizer(spmFile(spmVocab([{ text: '▁hi' }])));
    expect(tok.eogIds.has(2)).toBe(true);
    expect(tok.eogTexts).toEqual(['</s>']);
  });
});
