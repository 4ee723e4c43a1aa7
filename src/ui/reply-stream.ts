// One reply, through the OpenAI chat API the page shares with every
// embedder: the local engine (createWorkerEngine) and a remote
// OpenAI-compatible server answer the same streamed request. The chunks
// become the events the chat view shows (tokens, warnings, the closing
// statistics), so the view does not care where the reply comes from.

import type { ChatMessage, GenerateEvent, GenerateOptions, GenerateStats, ToolCall } from '../engine/types';
import type { ChatCompletionChunk, ChatCompletionCreateParams, ChatCompletionMessageParam, Completion, CompletionCreateParams, CompletionUsage, FinishReason, WebClawExtras } from '../api/types';
import type { ClawErrorCode } from '../errors';

/** A conversation as messages, or a raw prompt. */
export type ReplyInput = string | ChatMessage[];

/** Sampling and length as the settings give them (stop goes through the signal). */
export type ReplyOptions = Omit<GenerateOptions, 'signal'>;

/** What answers the page: a WebClawEngine, or the remote server's client (remote-server.ts). */
export interface ChatBackend {
  readonly chat: { readonly completions: { create(params: ChatCompletionCreateParams & { stream: true }): Promise<AsyncIterable<ChatCompletionChunk>> } };
  readonly completions: { create(params: CompletionCreateParams & { stream: true }): Promise<AsyncIterable<Completion>> };
}

/** The settings as OpenAI request fields (WebClaw's extras under llama.cpp's names, which its server reads too). */
export function requestFields(o: ReplyOptions) {
  return {
    stream: true as const,
    stream_options: { include_usage: true },
    max_tokens: o.maxTokens,
    temperature: o.temperature,
    top_p: o.topP,
    top_k: o.topK,
    min_p: o.minP,
    repeat_penalty: o.repeatPenalty,
    seed: o.seed,
    stop: o.stop,
    response_format: o.responseFormat,
  };
}

/** Chat-only fields: the tools the model may call, and how. */
function chatFields(o: ReplyOptions) {
  return o.tools?.length ? { tools: o.tools, tool_choice: o.toolChoice } : {};
}

/** The page's messages in the API's shape (tool calls and their results included). */
function apiMessages(messages: ChatMessage[]): ChatCompletionMessageParam[] {
  return messages.map((m) => ({
    role: m.role,
    content: m.content,
    ...(m.toolCalls?.length ? { tool_calls: m.toolCalls } : {}),
    ...(m.toolCallId !== undefined ? { tool_call_id: m.toolCallId } : {}),
  }));
}

/** Streams a reply into `onEvent`; resolves after its 'done' event, rejects (clw-aborted on stop) otherwise. */
export async function streamReply(backend: ChatBackend, input: ReplyInput, options: ReplyOptions, signal: AbortSignal, onEvent: (e: GenerateEvent) => void): Promise<void> {
  const fields = { ...requestFields(options), signal };
  const stream: AsyncIterable<ChatCompletionChunk | Completion> =
    typeof input === 'string' ? await backend.completions.create({ ...fields, prompt: input }) : await backend.chat.completions.create({ ...fields, ...chatFields(options), messages: apiMessages(input) });
  const started = performance.now();
  let firstAt = 0;
  let nTokens = 0;
  let nPrompt: number | undefined;
  let reason: FinishReason = 'length';
  let stats: GenerateStats | undefined;
  let usage: CompletionUsage | undefined;
  // Tool calls by index: WebClaw sends each whole, other servers in pieces (the arguments' text split over chunks).
  const calls: ToolCall[] = [];
  for await (const chunk of stream) {
    const extras: WebClawExtras | undefined = chunk.webclaw;
    for (const w of extras?.warnings ?? []) onEvent({ type: 'warning', code: w.code as ClawErrorCode, message: String(w.message) });
    if (nPrompt === undefined && Array.isArray(extras?.prompt_token_ids)) {
      nPrompt = extras.prompt_token_ids.length;
      onEvent({ type: 'prompt', tokenIds: extras.prompt_token_ids });
    }
    const choice = chunk.choices?.[0];
    const text = choice && ('delta' in choice ? choice.delta?.content : choice.text);
    if (typeof text === 'string' && text) {
      firstAt ||= performance.now();
      nTokens++;
      onEvent({ type: 'token', tokenId: 0, text });
    }
    if (choice && 'delta' in choice) {
      for (const d of choice.delta?.tool_calls ?? []) {
        const call = (calls[d.index] ??= { id: '', type: 'function', function: { name: '', arguments: '' } });
        if (d.id) call.id = d.id;
        if (d.function?.name) call.function.name += d.function.name;
        if (d.function?.arguments) call.function.arguments += d.function.arguments;
      }
    }
    if (choice?.finish_reason === 'stop' || choice?.finish_reason === 'length') reason = choice.finish_reason;
    else if (choice?.finish_reason === 'tool_calls') reason = 'stop';
    if (extras?.stats) stats = extras.stats;
    if (chunk.usage) usage = chunk.usage;
  }
  const made = calls.filter((c) => c && c.function.name);
  if (made.length) onEvent({ type: 'tool_calls', calls: made });
  // A server that is not WebClaw sends no statistics: the page measures its own.
  onEvent({ type: 'done', reason, stats: stats ?? measured(started, firstAt, performance.now(), usage, nPrompt ?? 0, nTokens) });
}

function measured(started: number, firstAt: number, ended: number, usage: CompletionUsage | undefined, nPrompt: number, nTokens: number): GenerateStats {
  const prompt = usage?.prompt_tokens ?? nPrompt;
  const generated = usage?.completion_tokens ?? nTokens;
  const prefillMs = (firstAt || ended) - started;
  const decodeMs = firstAt ? ended - firstAt : 0;
  return {
    nPrompt: prompt,
    nCached: usage?.prompt_tokens_details?.cached_tokens ?? 0,
    nGenerated: generated,
    prefillMs,
    firstTokenMs: firstAt ? prefillMs : 0,
    decodeMs,
    prefillTokPerS: prefillMs > 0 ? (prompt / prefillMs) * 1000 : 0,
    decodeTokPerS: decodeMs > 0 && generated > 1 ? ((generated - 1) / decodeMs) * 1000 : 0,
  };
}
