// Which tokenizers WebClaw implements, told from the two metadata keys that
// name a file's tokenizer: `tokenizer.ggml.model` (the algorithm) and, for
// byte-level BPE, `tokenizer.ggml.pre` (the pre-tokenizer's regexes). The
// tokenizer loader and the compatibility report both ask here, so a file the
// report passes has a tokenizer the load can build, and one it turns away
// fails at load with the same code and message.

import { ClawError, modelInvalid } from '../errors';
import type { GgufFile } from '../gguf/types';
import { bpePreset, supportedBpePresets, type BpePreset } from './bpe-pretokenize';

/** 'gemma4': BPE merges over "▁"-escaped UTF-8 with <0xXX> byte fallback (tokenizer.ggml.model = "gemma4"). */
export type TokenizerModel = 'spm' | 'bpe' | 'gemma4';

/** `tokenizer.ggml.model` values (llama.cpp's names) and the algorithm that runs each. */
const TOKENIZER_MODELS: ReadonlyMap<string, TokenizerModel> = new Map([
  ['llama', 'spm'],
  ['gpt2', 'bpe'],
  ['gemma4', 'gemma4'],
]);

const MODEL_KEY = 'tokenizer.ggml.model';
const PRE_KEY = 'tokenizer.ggml.pre';

export interface TokenizerKind {
  readonly model: TokenizerModel;
  /** The pre-tokenizer: `tokenizer.ggml.pre` ('default' when absent; 'gemma4' for gemma4, which has its own splitting). */
  readonly pre: string;
}

/** The tokenizer a file names; throws the coded error the load gives when WebClaw does not implement it. */
export function tokenizerKind(file: GgufFile): TokenizerKind {
  const model = tokenizerModel(file);
  if (model === 'gemma4') return { model, pre: 'gemma4' };
  const preValue = file.metadata.get(PRE_KEY)?.value;
  const pre = typeof preValue === 'string' ? preValue : 'default';
  // Like llama.cpp, only byte-level BPE reads the pre-tokenizer; SPM ignores the key.
  if (model === 'bpe') supportedBpePreset(pre);
  return { model, pre };
}

function tokenizerModel(file: GgufFile): TokenizerModel {
  const v = file.metadata.get(MODEL_KEY)?.value;
  if (v === undefined) throw modelInvalid(MODEL_KEY, 0, 'required metadata key is missing');
  if (typeof v !== 'string') throw modelInvalid(MODEL_KEY, 0, `expected a string, found ${typeof v}`);
  const model = TOKENIZER_MODELS.get(v);
  if (model !== undefined) return model;
  const supported = [...TOKENIZER_MODELS.keys()].join(', ');
  throw new ClawError('clw-arch-unsupported', `tokenizer "${v}" (${MODEL_KEY}) is not supported; supported tokenizers: ${supported}`, {
    fix: `WebClaw runs the ${supported} tokenizers; pick a model that uses one of them.`,
    details: { field: MODEL_KEY, value: v },
  });
}

/** The BPE pre-tokenizer named `pre`, or the coded error naming it and the supported ones. */
export function supportedBpePreset(pre: string): BpePreset {
  const preset = bpePreset(pre);
  if (preset) return preset;
  throw new ClawError('clw-arch-unsupported', `pre-tokenizer "${pre}" (${PRE_KEY}) is not supported; supported pre-tokenizers: ${supportedBpePresets().join(', ')}`, {
    fix: 'WebClaw does not implement this pre-tokenizer yet; pick a model whose tokenizer.ggml.pre is one of the supported ones.',
    details: { field: PRE_KEY, value: pre },
  });
}
