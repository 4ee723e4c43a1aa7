// The public engine API, shared by the page (through the worker), the CLI
// and the tests. Shaped after the OpenAI chat API: messages in, an async
// iterator of token events out, an AbortSignal to cancel.

import type { ClawErrorCode, SerializedClawError } from '../errors';
import type { MatvecAutotuneReport } from '../gpu/matvec-autotune';

export interface LoadOptions {
  /** Context length; default: the model's, capped by the budget. */
  ctxSize?: number;
  /** VRAM budget: a fraction of what the adapter allows (0..1] or bytes. */
  vramLimit?: { fraction: number } | { bytes: number };
  /** Resident layers: 'auto' or a count. */
  nGpuLayers?: 'auto' | number;
  /**
   * Arithmetic path: 'f16' runs the prefill matmul on f16 tiles (f32 sums)
   * and reads the f16 KV cache natively; it needs shader-f16 and falls back
   * to 'f32' (with a plan note) without it. 'auto' (default) = f16 where the
   * adapter has shader-f16.
   */
  dtype?: 'auto' | 'f32' | 'f16';
  /**
   * KV cache element type, separate from `dtype` (activations): 'f16' (the
   * default, as llama.cpp) halves the cache and runs on every adapter (packed
   * f16 pairs, no shader-f16 needed); 'f32' keeps full precision. A model
   * whose K/V row width is odd gets f32.
   */
  kvType?: 'f32' | 'f16';
  /** Grow the KV cache in chunks (CLAW_KV_CACHE_DYNAMIC). Default: DEFAULT_LOAD.kvCacheDynamic (defaults.ts). */
  kvCacheDynamic?: boolean;
  /** Prefill chunk size in tokens. */
  batchSize?: number;
}

export interface LoadProgress {
  phase: 'parse' | 'plan' | 'upload' | 'ready';
  /** 0..1 */
  fraction: number;
  loadedBytes?: number;
  totalBytes?: number;
  message?: string;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Assistant: the tool calls this reply made (its content may then be empty). */
  toolCalls?: ToolCall[];
  /** Tool: the id of the call this message answers. */
  toolCallId?: string;
}

/** A function the model may call: OpenAI's tool shape (`parameters` is a JSON Schema). */
export interface ToolDefinition {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

/** One call the model made: `arguments` is JSON text, as in the OpenAI API. */
export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/**
 * 'auto': the model decides; 'none': no tools offered; 'required' or a named
 * function: the assistant's turn begins with a call's opening in the model's
 * syntax (with the name, for a named function), so the reply is a call. A
 * named function's JSON arguments are then constrained by its parameters schema.
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface SamplingOptions {
  /** 0 = greedy. Default: DEFAULT_SAMPLING (defaults.ts), as for every sampling option. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  frequencyPenalty?: number;
  presencePenalty?: number;
  seed?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Max tokens to generate. Default: DEFAULT_GENERATION.maxTokens (defaults.ts). */
  maxTokens?: number;
  stop?: string[];
  signal?: AbortSignal;
  /** Raw prompt only: add BOS per the model's tokenizer settings (default true). */
  addBos?: boolean;
  /** Chat only: functions the model may call, given to the model through its chat template. */
  tools?: ToolDefinition[];
  /** Chat only, with tools. Default 'auto'. */
  toolChoice?: ToolChoice;
  /** Report each token's log-probability and this many most likely alternatives (0..20) on its token event. */
  logprobs?: number;
  /** Constrain the output: JSON (any object, or one JSON Schema), or a GBNF grammar (WebClaw extra). Default: text. */
  responseFormat?: ResponseFormat;
}

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name?: string; schema: Record<string, unknown>; strict?: boolean } }
  | { type: 'grammar'; grammar: string };

/** A generated token's log-probability under the model (raw logits, before sampling) and the most likely tokens. */
export interface TokenLogprobs {
  logprob: number;
  top: { tokenId: number; logprob: number }[];
}

export type GenerateEvent =
  | { type: 'prompt'; tokenIds: number[] }
  | { type: 'token'; tokenId: number; text: string; logprobs?: TokenLogprobs }
  | { type: 'warning'; code: ClawErrorCode; message: string }
  /** The reply parsed as tool calls (emitted before 'done'); the call's text was not streamed as tokens' text. */
  | { type: 'tool_calls'; calls: ToolCall[] }
  | { type: 'done'; reason: 'stop' | 'length' | 'abort'; stats: GenerateStats };

export interface GenerateStats {
  nPrompt: number;
  /** Prompt tokens whose KV cache was reused from the previous request (not evaluated again). */
  nCached: number;
  nGenerated: number;
  prefillMs: number;
  /** Milliseconds from the request's start (prompt evaluation included) to its first token; 0 when none came. */
  firstTokenMs: number;
  decodeMs: number;
  prefillTokPerS: number;
  decodeTokPerS: number;
}

export interface CompatibilityReport {
  fileName?: string;
  fileBytes: number;
  architecture: string;
  architectureSupported: boolean;
  supportedArchitectures: string[];
  modelName?: string;
  parameterCount: number;
  contextLength?: number;
  /** Per tensor type: how many tensors, how many bytes, whether the GPU path runs it. */
  tensorTypes: { type: string; count: number; bytes: number; supported: boolean }[];
  /** Errors and warnings, each with its code. Empty => it runs. */
  issues: { code: string; severity: 'error' | 'warning'; message: string }[];
  verdict: 'runs' | 'runs-with-warnings' | 'will-not-run';
  /** Present once an adapter is known: the memory plan text. */
  plan?: string;
  /** With the plan: what it gave up or chose and why (a capped context, streamed layers, gemma4's per-layer table on the GPU or in the file), as ModelInfo.planNotes will say after the load. */
  planNotes?: string[];
  /** Present once an adapter is known: the arithmetic path the model will run on (LoadOptions.dtype resolved). */
  dtype?: 'f32' | 'f16';
  /** The same, with the reason, as the page and `claw-infer inspect` show it. */
  arithmetic?: string;
}

export interface ModelInfo {
  architecture: string;
  nLayers: number;
  nEmbd: number;
  nVocab: number;
  ctxSize: number;
  adapter: string;
  gpuBytesPeak: number;
  loadMs: number;
  /** The memory plan the model loaded with: "22 of 32 layers resident, 10 streamed, context 8192: fits in 3.1 of 3.2 GiB". */
  plan?: string;
  /** Why the plan is what it is (shrunk context, streamed layers, retries after allocation failures). */
  planNotes?: string[];
  residentLayers?: number;
  /** Prefill batch (tokens per chunk) the model loaded with; below LoadOptions.batchSize when the budget was tight. */
  batchSize?: number;
  /** The VRAM budget the load stayed within, in bytes. */
  budgetBytes?: number;
  /** Whether the KV cache grows in chunks (CLAW_KV_CACHE_DYNAMIC). */
  kvCacheDynamic?: boolean;
  /** The arithmetic path the model runs on (LoadOptions.dtype resolved against the adapter). */
  dtype: 'f32' | 'f16';
  /**
   * With EngineOptions.kernels.matvec 'auto': the decode pass's matvec
   * tunings timed at load on this model's weights (each projection site on
   * its own), and what it runs.
   */
  matvecTuning?: MatvecAutotuneReport;
}

export type SerializedError = SerializedClawError;
