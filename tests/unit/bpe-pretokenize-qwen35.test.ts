// The qwen35 pre-tokenizer (llama.cpp's LLAMA_VOCAB_PRE_TYPE_QWEN35): Qwen 2's
// expression, except that letter runs also take combining marks (\p{M}).

import { describe, expect, it } from 'vitest';
import { bpePreset, preTokenize } from '../../src/tokenizer/bpe-pretokenize';

const split = (pre: string, text: string) => preTokenize(text, bpePreset(pre)!.patterns);

describe('qwen35 pre-tokenizer', () => {
  it('keeps combining marks inside a word, where qwen2 splits them off', () => {
    const text = 'cafe\u0301 au lait, na\u0308ive 42';
    expect(split('qwen35', text)).toEqual(['cafe\u0301', ' au', ' lait', ',', ' na\u0308ive', ' ', '4', '2']);
    expect(split('qwen2', text)).toEqual(['cafe', '\u0301', ' au', ' lait', ',', ' na', '\u0308ive', ' ', '4', '2']);
  });

  it('is a registered preset that keeps spaces when decoding', () => {
    expect(bpePreset('qwen35')?.cleanSpaces).toBe(false);
  });
});
