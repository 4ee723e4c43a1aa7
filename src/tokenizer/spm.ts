// SentencePiece-style tokenizer for `tokenizer.ggml.model = "llama"`, the
// same algorithm as llama.cpp's llm_tokenizer_spm: spaces become U+2581,
// the text splits into characters, and the adjacent pair whose joined text is
// the best-scoring token merges first (ties: leftmost) until no pair forms a
// token. Characters that never formed a token fall back to byte tokens.

import { ClawError } from '../errors';
import type { Fragment } from './special';
import { MaxHeap } from './heap';
import { TokenType, type Vocab } from './vocab';

export const SPM_SPACE = '\u2581';

interface Symbol {
  /** Start and length in UTF-16 code units of the escaped text. */
  start: number;
  length: number;
  prev: number;
  next: number;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  /** Joined length when queued; a mismatch later means a side has since merged. */
  length: number;
}

// Higher score first; on equal scores the leftmost pair.
const bigramBefore = (a: Bigram, b: Bigram): boolean => a.score > b.score || (a.score === b.score && a.left < b.left);

const utf8 = new TextEncoder();

export class SpmTokenizer {
  /** Token id for each byte value, -1 where the vocabulary has none. */
  private readonly byteTokens: Int32Array;

  constructor(private readonly vocab: Vocab) {
    this.byteTokens = new Int32Array(256).fill(-1);
    for (let b = 0; b < 256; b++) {
      const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
      // Vocabularies without <0xXX> tokens may still hold plain ASCII characters.
      const id = vocab.tokenToId.get(hex) ?? (b < 0x80 ? vocab.tokenToId.get(String.fromCharCode(b)) : undefined);
      if (id !== undefined) this.byteTokens[b] = id;
    }
  }

  /**
   * Tokenizes the fragments left by the special-token split. A text fragment
   * at the start or right after a special token gets the leading space
   * SentencePiece was trained with (when the model asks for it).
   */
  encodeFragments(fragments: readonly Fragment[], out: number[]): void {
    let afterSpecial = true;
    for (const f of fragments) {
      if (f.kind === 'token') {
        out.push(f.id);
        afterSpecial = true;
        continue;
      }
      const text = this.vocab.addSpacePrefix && afterSpecial ? ` ${f.text}` : f.text;
      this.encodeText(text.replaceAll(' ', SPM_SPACE), out);
      afterSpecial = false;
    }
  }

  /** Tokenizes one piece of already-escaped text. */
  encodeText(text: string, out: number[]): void {
    const symbols: Symbol[] = [];
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i) as number;
      const length = cp > 0xffff ? 2 : 1;
      symbols.push({ start: i, length, prev: symbols.length - 1, next: i + length < text.length ? symbols.length + 1 : -1 });
      i += length;
    }
    if (symbols.length === 0) return;

    const queue = new MaxHeap<Bigram>(bigramBefore);
    const tryAddBigram = (left: number, right: number): void => {
      if (left < 0 || right < 0) return;
      const l = symbols[left];
      const length = l.length + symbols[right].length;
      const id = this.vocab.tokenToId.get(text.substr(l.start, length));
      if (id === undefined) return;
      queue.push({ left, right, score: this.vocab.scores[id], length });
    };
    for (let i = 1; i < symbols.length; i++) tryAddBigram(i - 1, i);

    for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
      const left = symbols[bigram.left];
      const right = symbols[bigram.right];
      if (left.length === 0 || right.length === 0 || left.length + right.length !== bigram.length) continue;
      left.length += right.length;
      right.length = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = bigram.left;
      tryAddBigram(left.prev, bigram.left);
      tryAddBigram(bigram.left, left.next);
    }

    for (let i = 0; i !== -1; i = symbols[i].next) {
      const s = symbols[i];
      const piece = text.substr(s.start, s.length);
      const id = this.vocab.tokenToId.get(piece);
      if (id !== undefined) out.push(id);
      else this.pushBytes(piece, out);
    }
  }

  /**
   * A character the vocabulary lacks: one byte token per UTF-8 byte, or the
   * unknown token where the vocabulary has no byte tokens. (llama.cpp aborts
   * the process in that case; WebClaw must not.)
   */
  private pushBytes(piece: string, out: number[]): void {
    for (const b of utf8.encode(piece)) {
      const id = this.byteTokens[b];
      if (id >= 0) out.push(id);
      else if (this.vocab.unkId !== null) out.push(this.vocab.unkId);
      else {
        throw new ClawError('clw-model-invalid', `the vocabulary has no token for byte 0x${b.toString(16)} and no unknown token`, {
          fix: 'This model cannot represent the text; remove unusual characters or use another model.',
          details: { field: 'tokenizer.ggml.tokens', offset: 0, byte: b },
        });
      }
    }
  }

  /** The bytes a token stands for; control and unknown tokens only when `renderSpecial`. */
  pieceBytes(id: number, renderSpecial: boolean): Uint8Array {
    const text = this.vocab.tokens[id];
    switch (this.vocab.types[id] as TokenType) {
      case TokenType.Normal:
        return utf8.encode(text.replaceAll(SPM_SPACE, ' '));
      case TokenType.Byte:
        return byteOfToken(text);
      case TokenType.UserDefined:
        return utf8.encode(text);
      case TokenType.Control:
      case TokenType.Unknown:
        return renderSpecial ? utf8.encode(text) : new Uint8Array(0);
      default:
        // Unused and undefined tokens print nothing, as in llama.cpp.
        return new Uint8Array(0);
    }
  }
}

/** `<0xE2>` -> [0xE2]; a byte token whose text is not of that form prints as itself. */
function byteOfToken(text: string): Uint8Array {
  const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
  return m ? Uint8Array.of(parseInt(m[1], 16)) : utf8.encode(text);
}
