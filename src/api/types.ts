// The OpenAI request and response shapes WebClaw speaks (chat completions and
// legacy completions), with WebClaw's extras as documented extra fields:
// sampling knobs the OpenAI API lacks on the request (top_k, min_p,
// repeat_penalty, repeat_last_n, add_bos), and `webclaw` on the response
// (warnings, statistics, token ids); response_format also takes a GBNF grammar.

import type { ClawErrorCode } from '../errors';
import type { GenerateStats, ResponseFormat, ToolCall, ToolChoice, ToolDefinition } from '../engine/types';

export type { ToolCall, ToolChoice, ToolDefinition };

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

/** Text content, as a string or as OpenAI text parts. */
export type MessageContent = string | { type: 'text'; text: string }[];

export interface ChatCompletionMessageParam {
  role: ChatRole;
  /** May be null (or left out) on an assistant message that carries tool_calls. */
  content: MessageContent | null;
  name?: string;
  /** Assistant: the calls it made, as a response gave them. */
  tool_calls?: ToolCall[];
  /** Tool: the id of the call this result answers. */
  tool_call_id?: string;
}

/** Fields shared by chat and text completions. */
export interface CompletionParamsBase {
  /** Ignored by the library (one model per engine); echoed back as the loaded model's id. */
  model?: string;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  /** Only 1 is supported. */
  n?: number | null;
  /** Constrain the output: { type: 'json_object' }, { type: 'json_schema', json_schema: { schema } }, or (WebClaw extra) { type: 'grammar', grammar } in GBNF. */
  response_format?: ResponseFormat | null;
  // WebClaw extras (llama.cpp's names):
  top_k?: number | null;
  min_p?: number | null;
  repeat_penalty?: number | null;
  repeat_last_n?: number | null;
  /** Cancels the request; the stream or the promise then fails with clw-aborted. Not sent over HTTP or to a worker. */
  signal?: AbortSignal;
}

export interface ChatCompletionCreateParams extends CompletionParamsBase {
  messages: ChatCompletionMessageParam[];
  /** OpenAI's newer name for max_tokens. */
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  /** 0..20 alternatives per token; needs logprobs: true. */
  top_logprobs?: number | null;
  /** Functions the model may call; they reach the model through its chat template. */
  tools?: ToolDefinition[] | null;
  /** Default 'auto'. 'required' / a named function: the reply is begun as a call (the named one alone is offered); a named function's JSON arguments follow its parameters schema (a grammar; README, Tool calls). */
  tool_choice?: ToolChoice | null;
  /** Accepted for compatibility; calls are returned in the order the model wrote them. */
  parallel_tool_calls?: boolean | null;
}

export interface CompletionCreateParams extends CompletionParamsBase {
  prompt: string;
  /** 0..5 alternatives per token (the legacy API's integer form). */
  logprobs?: number | null;
  /** WebClaw extra: add BOS per the model's tokenizer settings (default true). */
  add_bos?: boolean;
}

export type FinishReason = 'stop' | 'length';
/** A chat reply can also end in tool calls. */
export type ChatFinishReason = FinishReason | 'tool_calls';

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** Prompt tokens whose KV cache was reused (OpenAI's field name). */
  prompt_tokens_details: { cached_tokens: number };
}

export interface WebClawWarning {
  code: ClawErrorCode;
  message: string;
}

/** WebClaw's extra field on responses, on a chat stream's first chunk (the prompt's ids) and on a stream's last chunk. */
export interface WebClawExtras {
  warnings: WebClawWarning[];
  stats?: GenerateStats;
  prompt_token_ids?: number[];
  generated_token_ids?: number[];
}

export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[];
}

export interface ChatCompletionTokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

export interface ChatChoiceLogprobs {
  content: ChatCompletionTokenLogprob[];
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: 0;
    /** content is null when the reply was tool calls only. */
    message: { role: 'assistant'; content: string | null; refusal: null; tool_calls?: ToolCall[] };
    finish_reason: ChatFinishReason;
    logprobs: ChatChoiceLogprobs | null;
  }[];
  usage: CompletionUsage;
  webclaw: WebClawExtras;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: {
    index: 0;
    delta: { role?: 'assistant'; content?: string; tool_calls?: ToolCallDelta[] };
    finish_reason: ChatFinishReason | null;
    logprobs: ChatChoiceLogprobs | null;
  }[];
  /** Only on the last chunk (with empty choices) when stream_options.include_usage is set. */
  usage?: CompletionUsage | null;
  /** Warnings as they happen; on the first chunk the prompt's token ids; on the finishing chunk also the statistics and token ids. */
  webclaw?: WebClawExtras;
}

/** A tool call in a stream chunk (OpenAI's shape): WebClaw sends each call whole, in one chunk, once the reply is parsed. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** The legacy completions API's logprobs form. */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[];
  text_offset: number[];
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: 0; text: string; finish_reason: FinishReason | null; logprobs: CompletionLogprobs | null }[];
  usage?: CompletionUsage | null;
  webclaw?: WebClawExtras;
}

/** Chunks of a streamed text completion have the same shape as the whole. */
export type CompletionChunk = Completion;

/** A streamed response: async-iterable chunks; `controller.abort()` or leaving the loop stops the generation. */
export interface CompletionStream<T> extends AsyncIterable<T> {
  readonly controller: AbortController;
}

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}
