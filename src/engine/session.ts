// What a loaded model is to the engine: the parsed file, the model on the
// GPU, its tokenizer and chat formatter, and the tokens its KV cache holds.

import type { GgufFile } from '../gguf/types';
import type { Hyperparams } from '../model/hparams';
import type { LlamaModel } from '../model/model';
import type { Tokenizer } from '../tokenizer';
import type { ChatFormatter } from './chat';
import type { ModelInfo } from './types';

export interface Session {
  file: GgufFile;
  hp: Hyperparams;
  model: LlamaModel;
  tokenizer: Tokenizer;
  chat: ChatFormatter;
  ctxSize: number;
  /** Tokens whose keys and values are in the KV cache, position by position. */
  cached: number[];
  /**
   * Recurrent models: the last prompt evaluated and its logits, whose state
   * the KV cache keeps a copy of (KvCache.saveState), so that prompt again
   * (or one extending it) continues from its end instead of from position 0.
   */
  savedPrompt?: { tokens: readonly number[]; logits: Float32Array };
  info: ModelInfo;
}
