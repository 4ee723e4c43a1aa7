// Byte-level BPE for `tokenizer.ggml.model = "gpt2"` (llama 3, qwen 2/3,
// smollm, ...), following llama.cpp's llm_tokenizer_bpe: pre-tokenize with
// the family's regexes, map each word's UTF-8 bytes to the printable
// characters GPT-2 uses for bytes, then repeatedly merge the adjacent pair
// with the lowest merge rank (ties: leftmost).

import { preTokenize, type BpePreset } from './bpe-pretokenize';
import { MaxHeap } from './heap';
import { supportedBpePreset } from './support';
import type { Fragment } from './special';
import { TokenType, type Vocab } from './vocab';

/**
 * GPT-2's byte <-> character table: printable Latin-1 bytes stand for
 * themselves, the other 68 bytes take the code points from U+0100 upwards.
 */
const BYTE_TO_CHAR: string[] = [];
const CHAR_TO_BYTE = new Map<string, number>();
/** The character standing for each byte value. */
export const BPE_BYTE_CHARS: readonly string[] = BYTE_TO_CHAR;
{
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const ch = String.fromCodePoint(printable ? b : 256 + extra++);
    BYTE_TO_CHAR[b] = ch;
    CHAR_TO_BYTE.set(ch, b);
  }
}

const utf8 = new TextEncoder();

/** A word's UTF-8 bytes written with GPT-2's byte characters. */
export function bytesToBpeText(word: string): string {
  let out = '';
  for (const b of utf8.encode(word)) out += BYTE_TO_CHAR[b];
  return out;
}

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

// Lower rank first; on equal ranks the leftmost pair.
const bigramBefore = (a: Bigram, b: Bigram): boolean => a.rank < b.rank || (a.rank === b.rank && a.left < b.left);

export class BpeTokenizer {
  readonly preset: BpePreset;

  constructor(private readonly vocab: Vocab) {
    this.preset = supportedBpePreset(vocab.pre);
  }

  encodeFragments(fragments: readonly Fragment[], out: number[]): void {
    for (const f of fragments) {
      if (f.kind === 'token') out.push(f.id);
      else for (const word of preTokenize(f.text, this.preset.patterns)) this.encodeWord(bytesToBpeText(word), out);
    }
  }

  /** Merges one pre-tokenized, byte-mapped word. */
  encodeWord(word: string, out: number[]): void {
    const { tokenToId } = this.vocab;
    if (this.preset.ignoreMerges) {
      const whole = tokenToId.get(word);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    // A piece no merge produced and the vocabulary lacks: llama.cpp keeps
    // whichever of its single bytes happen to be tokens and drops the rest.
    pushMerged(word, this.vocab, asciiByteToken, out);
  }

  pieceBytes(id: number, renderSpecial: boolean): Uint8Array {
    const text = this.vocab.tokens[id];
    switch (this.vocab.types[id] as TokenType) {
      case TokenType.Normal:
        return bpeTextToBytes(text);
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
    return this.preset.cleanSpaces ? cleanUpSpaces(text) : text;
  }
}

/**
 * The pieces of one word after BPE: its characters, then repeatedly the
 * adjacent pair with the lowest merge rank (ties: leftmost) joined, until no
 * pair has a rank. Shared by byte-level BPE and gemma4's tokenizer.
 */
/** A byte-level vocabulary's token for byte b: ASCII bytes stand for themselves. */
const asciiByteToken = (b: number): string | undefined => (b < 0x80 ? String.fromCharCode(b) : undefined);

/**
 * Merges `word` and appends its pieces' ids; a piece the vocabulary lacks
 * goes in as those of its bytes for which `byteToken` names a token that
 * exists (the byte-level and the gemma4 tokenizers differ only there).
 */
export function pushMerged(word: string, vocab: Pick<Vocab, 'tokenToId' | 'mergeRanks'>, byteToken: (b: number) => string | undefined, out: number[]): void {
  for (const piece of mergeBpe(word, vocab.mergeRanks)) {
    const id = vocab.tokenToId.get(piece);
    if (id !== undefined) {
      out.push(id);
      continue;
    }
    for (const b of utf8.encode(piece)) {
      const token = byteToken(b);
      const byteId = token === undefined ? undefined : vocab.tokenToId.get(token);
      if (byteId !== undefined) out.push(byteId);
    }
  }
}

export function mergeBpe(word: string, mergeRanks: ReadonlyMap<string, number>): string[] {
  // Symbols are the word's characters, linked so merges can unlink the right side.
  const texts = Array.from(word);
  const prev = texts.map((_, i) => i - 1);
  const next = texts.map((_, i) => (i + 1 < texts.length ? i + 1 : -1));

  const queue = new MaxHeap<Bigram>(bigramBefore);
  const tryAddBigram = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const rank = mergeRanks.get(`${texts[left]} ${texts[right]}`);
    if (rank !== undefined) queue.push({ left, right, rank, text: texts[left] + texts[right] });
  };
  for (let i = 1; i < texts.length; i++) tryAddBigram(i - 1, i);

  for (let bigram = queue.pop(); bigram; bigram = queue.pop()) {
    const { left, right } = bigram;
    // Stale: one side has merged with something else since this pair was queued.
    if (texts[left] === '' || texts[right] === '' || texts[left] + texts[right] !== bigram.text) continue;
    texts[left] = bigram.text;
    texts[right] = '';
    next[left] = next[right];
    if (next[right] >= 0) prev[next[right]] = left;
    tryAddBigram(prev[left], left);
    tryAddBigram(left, next[left]);
  }
  const pieces: string[] = [];
  for (let i = 0; i !== -1 && i < texts.length; i = next[i]) pieces.push(texts[i]);
  return pieces;
}

/** GPT-2 byte characters back to bytes; a character outside the table stays as its UTF-8. */
function bpeTextToBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}

/**
 * llama.cpp's clean-up of decoded text, three passes over the characters:
 * drop the space before ? ! . , ; turn " ' " into "'"; drop the space before
 * 's 'm 're 've. It works in place, so a later pass sees earlier edits.
 */
export function cleanUpSpaces(input: string): string {
  let text = Array.from(input);

  // Pass 1: " ?", " !", " .", " ,"
  let out: string[] = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === ' ' && (x === '?' || x === '!' || x === '.' || x === ',')) out.pop();
    out.push(x);
  }

  // Pass 2: " ' " -> "'"
  text = out;
  out = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (x === "'" && i + 1 < text.length && text[i - 1] === ' ' && text[i + 1] === ' ') {
      out.pop();
      text[++i] = '\0';
    }
    out.push(x);
  }

  // Pass 3: " 's", " 'm", " 're", " 've"
  text = out;
  out = text.length ? [text[0]] : [];
  for (let i = 1; i < text.length; i++) {
    const x = text[i];
    if (text[i - 1] === ' ' && x === "'" && i + 1 < text.length) {
      const x1 = text[i + 1];
      const x2 = i + 2 < text.length ? text[i + 2] : '';
      if (x1 === 's' || x1 === 'm' || (x1 === 'r' && x2 === 'e') || (x1 === 'v' && x2 === 'e')) out.pop();
    }
    out.push(x);
  }
  return out.join('');
}
