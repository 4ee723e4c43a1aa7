// Gemma 4's tokenizer (`tokenizer.ggml.model = "gemma4"`), as llama.cpp
// runs it (llama-vocab.cpp, LLAMA_VOCAB_PRE_TYPE_GEMMA4): SentencePiece-style
// BPE. Spaces become "▁", the text is cut only into runs of newlines and
// runs of everything else (no word-level pre-splitting), and BPE merges run
// over the raw UTF-8 characters of each run (no GPT-2 byte mapping). A run
// of newlines that is itself a token is taken whole. A piece the vocabulary
// lacks falls back to its bytes as <0xXX> tokens. Decoding turns "▁" back
// into spaces and byte tokens into their byte, then cleans up spaces as BPE
// does. No space prefix; BOS is always added (llama.cpp overrides the file).

import { cleanUpSpaces, pushMerged } from './bpe';
import type { Fragment } from './special';
import { TokenType, type Vocab } from './vocab';

const utf8 = new TextEncoder();
const RUNS = /[^\n]+|\n+/g;
const HEX = '0123456789ABCDEF';
/** A piece the vocabulary lacks falls back to its bytes as <0xXX> tokens. */
const byteFallbackToken = (b: number): string => `<0x${HEX[b >> 4]}${HEX[b & 15]}>`;

export class Gemma4Tokenizer {
  constructor(private readonly vocab: Vocab) {}

  encodeFragments(fragments: readonly Fragment[], out: number[]): void {
    for (const f of fragments) {
      if (f.kind === 'token') out.push(f.id);
      else for (const run of f.text.replaceAll(' ', '▁').match(RUNS) ?? []) this.encodeRun(run, out);
    }
  }

  private encodeRun(run: string, out: number[]): void {
    const { tokenToId } = this.vocab;
    const whole = run[0] === '\n' ? tokenToId.get(run) : undefined;
    if (whole !== undefined) {
      out.push(whole);
      return;
    }
    pushMerged(run, this.vocab, byteFallbackToken, out);
  }

  pieceBytes(id: number, renderSpecial: boolean): Uint8Array {
    const text = this.vocab.tokens[id];
    switch (this.vocab.types[id] as TokenType) {
      case TokenType.Normal:
        return utf8.encode(text.replaceAll('▁', ' '));
      case TokenType.Byte:
        return Uint8Array.of(parseInt(text.slice(3, 5), 16));
      case TokenType.UserDefined:
        return utf8.encode(text);
      case TokenType.Control:
      case TokenType.Unknown:
        return renderSpecial ? utf8.encode(text) : new Uint8Array(0);
      default:
        return new Uint8Array(0);
    }
  }

  cleanDecoded(text: string): string {
    return cleanUpSpaces(text);
  }
}
