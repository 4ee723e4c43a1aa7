// The vocabulary a tokenizer works from, read out of GGUF metadata
// (`tokenizer.ggml.*`) into one typed record. Defaults and the text-based
// detection of end-of-generation tokens follow llama.cpp's vocabulary loader,
// so that a file tokenizes here exactly as it does there.

import { modelInvalid } from '../errors';
import { bpePreset } from './bpe-pretokenize';
import { tokenizerKind, type TokenizerModel } from './support';
import type { GgufArray, GgufFile, GgufValue } from '../gguf/types';

export type { TokenizerModel } from './support';

/** llama.cpp's token types (the `tokenizer.ggml.token_type` values). */
export enum TokenType {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
}

export interface Vocab {
  readonly model: TokenizerModel;
  /** `tokenizer.ggml.pre` (BPE pre-tokenizer name); 'default' when absent. */
  readonly pre: string;
  readonly tokens: readonly string[];
  readonly scores: Float32Array;
  readonly types: Uint8Array;
  /** Text -> id; where two ids share a text the later one wins, as in llama.cpp. */
  readonly tokenToId: ReadonlyMap<string, number>;
  /** BPE merges: "left right" -> rank (empty for SPM). */
  readonly mergeRanks: ReadonlyMap<string, number>;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly unkId: number | null;
  readonly padId: number | null;
  readonly eotId: number | null;
  readonly addBos: boolean;
  readonly addEos: boolean;
  readonly addSpacePrefix: boolean;
  readonly eogIds: ReadonlySet<number>;
}

const KEY = 'tokenizer.ggml';

/**
 * Token texts that end a turn in common chat formats. llama.cpp treats them
 * as end-of-generation (and as control tokens) whatever their declared type.
 * The list follows the llama.cpp that node-llama-cpp bundles (the
 * conformance tests compare against it).
 */
const EOG_TEXTS = new Set([
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
]);

const ALWAYS_USER_DEFINED_TEXTS = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

/**
 * Fill-in-the-middle tokens, found by text when the file does not name them.
 * All become control tokens; padding, repository and file separators also
 * end generation.
 */
const FIM_ROLES: { key: string; texts: string[]; endsGeneration: boolean }[] = [
  { key: 'fim_pre_token_id', texts: ['<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'], endsGeneration: false },
  { key: 'fim_suf_token_id', texts: ['<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'], endsGeneration: false },
  { key: 'fim_mid_token_id', texts: ['<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'], endsGeneration: false },
  { key: 'fim_pad_token_id', texts: ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'], endsGeneration: true },
  { key: 'fim_rep_token_id', texts: ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'], endsGeneration: true },
  { key: 'fim_sep_token_id', texts: ['<|file_sep|>'], endsGeneration: true },
];

function get(file: GgufFile, key: string): GgufValue | undefined {
  return file.metadata.get(key)?.value;
}

function isArray(v: GgufValue | undefined): v is GgufArray {
  return typeof v === 'object' && v !== null && 'values' in v;
}

function stringArray(file: GgufFile, key: string): string[] {
  const v = get(file, key);
  if (!isArray(v)) throw modelInvalid(key, 0, v === undefined ? 'required metadata key is missing' : 'expected an array of strings');
  const out = new Array<string>(v.values.length);
  for (let i = 0; i < v.values.length; i++) {
    const s = v.values[i];
    if (typeof s !== 'string') throw modelInvalid(key, 0, `element ${i} is not a string`);
    out[i] = s;
  }
  return out;
}

function numberArray(file: GgufFile, key: string, expectedLength: number): number[] | undefined {
  const v = get(file, key);
  if (v === undefined) return undefined;
  if (!isArray(v)) throw modelInvalid(key, 0, 'expected an array of numbers');
  if (v.values.length !== expectedLength) {
    throw modelInvalid(key, 0, `has ${v.values.length} entries but tokenizer.ggml.tokens has ${expectedLength}`);
  }
  return v.values.map((x, i) => {
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || Number.isNaN(n)) throw modelInvalid(key, 0, `element ${i} is not a number`);
    return n;
  });
}

function bool(file: GgufFile, key: string, fallback: boolean): boolean {
  const v = get(file, key);
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw modelInvalid(key, 0, `expected a boolean, found ${typeof v}`);
  return v;
}

/**
 * A special token id: absent keeps the model's default; -1 / 0xFFFFFFFF mean
 * "none" (that is how converters write it); anything else must name a token.
 */
function tokenId(file: GgufFile, key: string, fallback: number | null, nTokens: number): number | null {
  const v = get(file, key);
  if (v === undefined) return fallback !== null && fallback < nTokens ? fallback : null;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw modelInvalid(key, 0, 'expected an integer token id');
  if (n === -1 || n === 0xffffffff) return null;
  if (n < 0 || n >= nTokens) throw modelInvalid(key, 0, `token id ${n} is outside the vocabulary (0..${nTokens - 1})`);
  return n;
}

function readMerges(file: GgufFile): Map<string, number> {
  const ranks = new Map<string, number>();
  const key = `${KEY}.merges`;
  const merges = stringArray(file, key);
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    // The separator is the first space after the first character: a merge's
    // left side may itself start with a space-like character but never
    // contains a plain space (byte-level BPE maps spaces to U+0120).
    if (m.indexOf(' ', 1) < 0) throw modelInvalid(key, 0, `merge ${i} ("${m}") has no separating space`);
    if (!ranks.has(m)) ranks.set(m, i);
  }
  return ranks;
}

export function readVocab(file: GgufFile): Vocab {
  const { model, pre } = tokenizerKind(file);
  const tokens = stringArray(file, `${KEY}.tokens`);
  const n = tokens.length;
  if (n === 0) throw modelInvalid(`${KEY}.tokens`, 0, 'the vocabulary is empty');

  const scores = new Float32Array(n);
  const scoreValues = numberArray(file, `${KEY}.scores`, n);
  if (scoreValues) scores.set(scoreValues);

  const types = new Uint8Array(n).fill(TokenType.Normal);
  const typeValues = numberArray(file, `${KEY}.token_type`, n);
  if (typeValues) {
    for (let i = 0; i < n; i++) {
      const t = typeValues[i];
      if (!Number.isInteger(t) || t < 0 || t > TokenType.Byte) {
        throw modelInvalid(`${KEY}.token_type`, 0, `token ${i} has unknown type ${t}`);
      }
      types[i] = t;
    }
  }

  const tokenToId = new Map<string, number>();
  for (let i = 0; i < n; i++) tokenToId.set(tokens[i], i);

  // llama.cpp's defaults per tokenizer family; metadata overrides them.
  const spm = model === 'spm';
  // gemma4 has no default special ids: the file names them.
  const gemma4 = model === 'gemma4';
  const bosId = tokenId(file, `${KEY}.bos_token_id`, spm ? 1 : gemma4 ? null : 11, n);
  const eosId = tokenId(file, `${KEY}.eos_token_id`, spm ? 2 : gemma4 ? null : 11, n);
  const unkId = tokenId(file, `${KEY}.unknown_token_id`, spm ? 0 : null, n);
  const padId = tokenId(file, `${KEY}.padding_token_id`, null, n);
  const eotId = tokenId(file, `${KEY}.eot_token_id`, null, n);
  const eomId = tokenId(file, `${KEY}.eom_token_id`, null, n);

  // llama.cpp always adds BOS for gemma4, whatever add_bos_token says.
  // Some BPE families (llama 3) expect BOS even when the file does not say so.
  const addBos = gemma4 || bool(file, `${KEY}.add_bos_token`, spm || (bpePreset(pre)?.addBos ?? false));
  const addEos = bool(file, `${KEY}.add_eos_token`, false);
  const addSpacePrefix = bool(file, `${KEY}.add_space_prefix`, spm);
  if (addBos && bosId === null) throw modelInvalid(`${KEY}.add_bos_token`, 0, 'is true but the model has no BOS token');
  if (addEos && eosId === null) throw modelInvalid(`${KEY}.add_eos_token`, 0, 'is true but the model has no EOS token');

  const eogIds = new Set<number>();
  for (const [text, id] of tokenToId) {
    if (!EOG_TEXTS.has(text)) continue;
    eogIds.add(id);
    types[id] = TokenType.Control;
  }
  for (const role of FIM_ROLES) {
    let id = tokenId(file, `${KEY}.${role.key}`, null, n);
    for (const text of role.texts) id ??= tokenToId.get(text) ?? null;
    if (id === null) continue;
    types[id] = TokenType.Control;
    if (role.endsGeneration) eogIds.add(id);
  }
  // llama.cpp always prints gpt-oss's message-framing tokens and cuts them out of text.
  for (const text of ALWAYS_USER_DEFINED_TEXTS) {
    const id = tokenToId.get(text);
    if (id !== undefined) types[id] = TokenType.UserDefined;
  }
  for (const id of [eosId, eotId, eomId]) if (id !== null) eogIds.add(id);
  dropEogExceptions(tokens, types, eogIds);

  const mergeRanks = model === 'spm' ? new Map<string, number>() : readMerges(file);
  return {
    model, pre, tokens, scores, types, tokenToId, mergeRanks,
    bosId, eosId, unkId, padId, eotId, addBos, addEos, addSpacePrefix, eogIds,
  };
}

/**
 * llama.cpp's two exceptions, applied last: in harmony-style vocabularies
 * (gpt-oss, solar-open) <|end|> separates messages and becomes a
 * user-defined token; in gemma 4-style ones (<|tool_response>) </s> is plain
 * text.
 */
function dropEogExceptions(tokens: readonly string[], types: Uint8Array, eogIds: Set<number>): void {
  const eogByText = new Map<string, number>();
  for (const id of eogIds) eogByText.set(tokens[id], id);
  const has = (text: string): boolean => eogByText.has(text);
  const hasCall = has('<|call|>') || has('<|calls|>');
  const end = eogByText.get('<|end|>');
  if (end !== undefined && hasCall && (has('<|return|>') || has('<|flush|>'))) {
    eogIds.delete(end);
    types[end] = TokenType.UserDefined;
  }
  const slashS = eogByText.get('</s>');
  if (slashS !== undefined && has('<|tool_response>')) {
    eogIds.delete(slashS);
    types[slashS] = TokenType.Normal;
  }
}
