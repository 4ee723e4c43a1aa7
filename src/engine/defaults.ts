// Every default a person can see or change, in one place: the engine, the
// CLI and the page read them from here, and README.md's settings table
// states them. Values left undefined mean "decided at load time" (the
// model's context capped by the budget, a budget from the adapter, a random
// seed).

import { DEFAULT_BATCH_SIZE } from '../model/plan';

/** Sampling: llama.cpp's defaults (common_params_sampling). */
export const DEFAULT_SAMPLING = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.0,
  repeatLastN: 64,
  frequencyPenalty: 0,
  presencePenalty: 0,
} as const;

export const DEFAULT_GENERATION = {
  /** Tokens per reply. */
  maxTokens: 256,
  /** The page's system prompt for a new conversation; empty = the chat template's own. */
  systemPrompt: '',
} as const;

/** The page's output settings: JSON output off (plain text), no schema (any JSON object when on), no tools. */
export const DEFAULT_OUTPUT = {
  jsonOutput: false,
  jsonSchema: '',
  tools: '',
} as const;

export const DEFAULT_LOAD = {
  /** Layers resident on the GPU: 'auto' keeps as many as the budget holds. */
  nGpuLayers: 'auto',
  /** KV cache element type: f16 halves the cache and needs no shader-f16 (llama.cpp's default too). */
  kvType: 'f16',
  /** Arithmetic path: 'auto' picks f16 where the adapter has shader-f16. */
  dtype: 'auto',
  /** Grow the KV cache in chunks (CLAW_KV_CACHE_DYNAMIC). */
  kvCacheDynamic: true,
  /**
   * VRAM budget when none is set, on GPUs sharing system memory (integrated,
   * Apple, software, unrecognised): this share of the class ceiling
   * (src/model/vram.ts). Discrete GPUs take the whole ceiling, lowered to
   * what the GPU accepted when an allocation is refused.
   */
  guessedVramShare: 0.5,
  /** Prefill chunk size in tokens (the planner's). */
  batchSize: DEFAULT_BATCH_SIZE,
} as const;
