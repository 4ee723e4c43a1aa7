// The tokenizer a model's GGUF file describes: text -> token ids and back.
// `createTokenizer` reads the vocabulary from metadata and picks the model's
// algorithm (SentencePiece for "llama", byte-level BPE for "gpt2", gemma4's
// BPE over escaped UTF-8 for "gemma4"); all
// follow llama.cpp so ids match what llama.cpp produces for the same file.

import { ClawError } from '../errors';
import type { GgufFile } from '../gguf/types';
import { BpeTokenizer } from './bpe';
import { Gemma4Tokenizer } from './gemma4';
import { collectSpecialTokens, splitOnSpecialTokens } from './special';
import { SpmTokenizer } from './spm';
import { readVocab, type Vocab } from './vocab';

export interface EncodeOptions {
  /** Add BOS/EOS as the model asks (add_bos_token / add_eos_token). Default true. */
  addSpecial?: boolean;
  /** Recognise control tokens written as text ("<s>", "<|im_end|>"). Default false. */
  parseSpecial?: boolean;
}

export interface DecodeOptions {
  /** Print control tokens as their text instead of nothing. Default false. */
  renderSpecial?: boolean;
}

export interface StreamingDecoder {
  /** Text completed by this token; incomplete UTF-8 is held until its last byte arrives. */
  push(id: number): string;
  /** Whatever is still held (an incomplete character becomes U+FFFD). */
  flush(): string;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** End-of-generation ids: eos, eot, im_end, end_of_turn, ... (from ids and token texts). */
  readonly eogIds: ReadonlySet<number>;
  /**
   * The texts of the end-of-generation tokens. A model can spell one out in
   * ordinary pieces instead of emitting its id (TinyStories-656K writes
   * `<|end_story|>` as "<|" "end" "_story" "|>" and only then the EOS id);
   * generation treats these texts as stop strings so they are never shown.
   */
  readonly eogTexts: readonly string[];
  encode(text: string, options?: EncodeOptions): number[];
  /** Raw bytes of one token (byte-fallback tokens give their byte; U+2581 -> space for SPM; control tokens their text unless renderSpecial is false). */
  tokenBytes(id: number, options?: DecodeOptions): Uint8Array;
  /** The whole sequence as text, as llama.cpp's detokenize prints it. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Streams text token by token; never emits a broken multi-byte character. */
  createDecoder(options?: DecodeOptions): StreamingDecoder;
  /** The token's text as stored in the vocabulary. */
  tokenText(id: number): string;
}

/** The part that differs between tokenizer families. */
export interface TokenizerAlgorithm {
  encodeFragments(fragments: ReturnType<typeof splitOnSpecialTokens>, out: number[]): void;
  pieceBytes(id: number, renderSpecial: boolean): Uint8Array;
  /** Post-processing of decoded text (BPE's clean-up of spaces before punctuation). */
  cleanDecoded?(text: string): string;
}

export function createTokenizer(file: GgufFile): Tokenizer {
  const vocab = readVocab(file);
  const algorithm: TokenizerAlgorithm =
    vocab.model === 'spm' ? new SpmTokenizer(vocab) : vocab.model === 'gemma4' ? new Gemma4Tokenizer(vocab) : new BpeTokenizer(vocab);
  return new GgufTokenizer(vocab, algorithm);
}

class GgufTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly eogIds: ReadonlySet<number>;
  readonly eogTexts: readonly string[];
  private readonly special;

  constructor(
    private readonly vocab: Vocab,
    private readonly algorithm: TokenizerAlgorithm,
  ) {
    this.vocabSize = vocab.tokens.length;
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    this.eogIds = vocab.eogIds;
    // A one-character text (a byte token marked EOG by a broken file) would cut replies anywhere.
    this.eogTexts = [...new Set([...vocab.eogIds].map((id) => vocab.tokens[id]).filter((t) => t.length > 1))];
    this.special = collectSpecialTokens(vocab);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const addSpecial = options.addSpecial ?? true;
    const out: number[] = [];
    if (addSpecial && this.addBos && this.bosId !== null) out.push(this.bosId);
    const fragments = splitOnSpecialTokens(wellFormed(text), this.vocab, this.special, options.parseSpecial ?? false);
    this.algorithm.encodeFragments(fragments, out);
    if (addSpecial && this.addEos && this.eosId !== null) out.push(this.eosId);
    return out;
  }

  tokenBytes(id: number, options: DecodeOptions = {}): Uint8Array {
    this.checkId(id);
    return this.algorithm.pieceBytes(id, options.renderSpecial ?? true);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const renderSpecial = options.renderSpecial ?? false;
    const pieces: Uint8Array[] = [];
    let total = 0;
    // Like llama.cpp, the first token loses the space that encode's
    // add_space_prefix put there, even when that token prints nothing.
    let stripSpace = this.vocab.addSpacePrefix;
    for (const id of ids) {
      this.checkId(id);
      let piece = this.algorithm.pieceBytes(id, renderSpecial);
      if (stripSpace && piece.length > 0 && piece[0] === 0x20) piece = piece.subarray(1);
      stripSpace = false;
      pieces.push(piece);
      total += piece.length;
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const p of pieces) {
      bytes.set(p, at);
      at += p.length;
    }
    const text = new TextDecoder('utf-8').decode(bytes);
    return this.algorithm.cleanDecoded ? this.algorithm.cleanDecoded(text) : text;
  }

  createDecoder(options: DecodeOptions = {}): StreamingDecoder {
    const renderSpecial = options.renderSpecial ?? false;
    // TextDecoder in streaming mode keeps an incomplete UTF-8 sequence
    // (say, the first three byte tokens of an emoji) until it completes.
    const utf8 = new TextDecoder('utf-8');
    return {
      push: (id: number): string => {
        this.checkId(id);
        return utf8.decode(this.algorithm.pieceBytes(id, renderSpecial), { stream: true });
      },
      flush: (): string => utf8.decode(),
    };
  }

  tokenText(id: number): string {
    this.checkId(id);
    return this.vocab.tokens[id];
  }

  private checkId(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.tokens.length) {
      throw new ClawError('clw-bad-request', `token id ${id} is outside the vocabulary (0..${this.vocab.tokens.length - 1})`, {
        details: { id, vocabSize: this.vocab.tokens.length },
      });
    }
  }
}

/** Lone surrogates cannot be UTF-8 encoded; like Node's bindings, they become U+FFFD. */
function wellFormed(text: string): string {
  return text.replace(/\p{Surrogate}/gu, '\uFFFD');
}
