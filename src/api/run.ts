// Runs one OpenAI-shaped request on the engine: the engine's events become
// a chat.completion / text_completion, or a stream of chunks. One pass over
// the events serves both; the stream is a ChunkStream the pass writes into.

import { ClawError, toClawError } from '../errors';
import type { ChatMessage, GenerateEvent, GenerateOptions, GenerateStats, TokenLogprobs, ToolCall } from '../engine/types';
import type { Tokenizer } from '../tokenizer';
import { prepareChat, prepareCompletion, type PreparedRequest } from './params';
import { ChunkStream } from './stream';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParams,
  ChatCompletionTokenLogprob,
  ChatFinishReason,
  Completion,
  CompletionCreateParams,
  CompletionLogprobs,
  CompletionUsage,
  FinishReason,
  TopLogprob,
  WebClawExtras,
  WebClawWarning,
} from './types';

/** The part of ClawEngine a request needs. */
export interface GeneratingEngine {
  generate(input: string | ChatMessage[], options?: GenerateOptions): AsyncGenerator<GenerateEvent>;
  readonly tokenizer: Tokenizer | null;
}

/** What one generation produced, gathered from its events. */
class Turn {
  promptIds: number[] = [];
  ids: number[] = [];
  text = '';
  warnings: WebClawWarning[] = [];
  /** Warnings not yet passed on to a stream chunk. */
  fresh: WebClawWarning[] = [];
  logprobs: ChatCompletionTokenLogprob[] = [];
  stats?: GenerateStats;
  reason: FinishReason = 'length';
  /** The calls the reply made (chat with tools). */
  toolCalls: ToolCall[] = [];

  /** The chat finish reason: tool calls win over the stop that ended them. */
  chatReason(): ChatFinishReason {
    return this.toolCalls.length > 0 ? 'tool_calls' : this.reason;
  }

  usage(): CompletionUsage {
    const completion = this.stats?.nGenerated ?? this.ids.length;
    const prompt = this.stats?.nPrompt ?? this.promptIds.length;
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: this.stats?.nCached ?? 0 } };
  }

  extras(final: boolean): WebClawExtras | undefined {
    const warnings = this.fresh;
    this.fresh = [];
    if (final) return { warnings, stats: this.stats, prompt_token_ids: this.promptIds, generated_token_ids: this.ids };
    return warnings.length > 0 ? { warnings } : undefined;
  }
}

type Step = { kind: 'start' } | { kind: 'token'; text: string; logprobs: ChatCompletionTokenLogprob | null } | { kind: 'tool_calls'; calls: ToolCall[] } | { kind: 'done' };

/** Feeds the engine's events into `turn`, calling `step` for what a stream passes on. */
async function drive(engine: GeneratingEngine, req: PreparedRequest, signal: AbortSignal | undefined, turn: Turn, step: (s: Step) => void): Promise<void> {
  const decoder = new TextDecoder();
  const describe = (id: number): TopLogprob => {
    const bytes = engine.tokenizer?.tokenBytes(id) ?? new Uint8Array(0);
    return { token: decoder.decode(bytes), logprob: 0, bytes: Array.from(bytes) };
  };
  const entry = (id: number, lp: TokenLogprobs): ChatCompletionTokenLogprob => ({
    ...describe(id),
    logprob: lp.logprob,
    top_logprobs: lp.top.map((t) => ({ ...describe(t.tokenId), logprob: t.logprob })),
  });
  for await (const e of engine.generate(req.input, { ...req.options, signal })) {
    if (e.type === 'prompt') {
      turn.promptIds = e.tokenIds;
      step({ kind: 'start' });
    } else if (e.type === 'warning') {
      const w = { code: e.code, message: e.message };
      turn.warnings.push(w);
      turn.fresh.push(w);
    } else if (e.type === 'token') {
      if (e.tokenId >= 0) turn.ids.push(e.tokenId);
      turn.text += e.text;
      const lp = e.logprobs && e.tokenId >= 0 ? entry(e.tokenId, e.logprobs) : null;
      if (lp) turn.logprobs.push(lp);
      if (e.text || lp) step({ kind: 'token', text: e.text, logprobs: lp });
    } else if (e.type === 'tool_calls') {
      turn.toolCalls.push(...e.calls);
      step({ kind: 'tool_calls', calls: e.calls });
    } else {
      if (e.reason === 'abort') throw new ClawError('clw-aborted', 'the request was cancelled');
      turn.reason = e.reason;
      turn.stats = e.stats;
      step({ kind: 'done' });
    }
  }
}

/** The user's signal and the stream's own controller, as one. */
function combined(controller: AbortController, user?: AbortSignal): AbortSignal {
  return user ? AbortSignal.any([controller.signal, user]) : controller.signal;
}

interface Shape<Whole, Chunk> {
  whole(turn: Turn): Whole;
  first(turn: Turn): Chunk | null;
  token(turn: Turn, text: string, logprobs: ChatCompletionTokenLogprob | null): Chunk;
  /** Chat only: the chunk announcing the reply's tool calls. */
  toolCalls?(turn: Turn, calls: ToolCall[]): Chunk;
  finish(turn: Turn): Chunk;
  usage(turn: Turn): Chunk;
}

/**
 * Runs a prepared request. Non-streaming: resolves with the whole response.
 * Streaming: resolves with the stream once the engine has taken the request
 * (its prompt is tokenized), so errors found before any output, like a bad
 * request or no model, reject the promise instead of ending the stream.
 */
function run<Whole, Chunk>(engine: GeneratingEngine, req: PreparedRequest, shape: Shape<Whole, Chunk>): Promise<Whole | ChunkStream<Chunk>> {
  const turn = new Turn();
  if (!req.stream) {
    return drive(engine, req, req.options.signal, turn, () => undefined).then(
      () => shape.whole(turn),
      (e) => Promise.reject(toClawError(e)),
    );
  }
  const stream = new ChunkStream<Chunk>();
  const signal = combined(stream.controller, req.options.signal);
  return new Promise((resolve, reject) => {
    let started = false;
    const step = (s: Step) => {
      if (s.kind === 'start') {
        const first = shape.first(turn);
        if (first) stream.push(first);
        started = true;
        resolve(stream);
      } else if (s.kind === 'token') stream.push(shape.token(turn, s.text, s.logprobs));
      else if (s.kind === 'tool_calls') {
        if (shape.toolCalls) stream.push(shape.toolCalls(turn, s.calls));
      } else {
        stream.push(shape.finish(turn));
        if (req.includeUsage) stream.push(shape.usage(turn));
      }
    };
    drive(engine, req, signal, turn, step).then(
      () => stream.end(),
      (e) => {
        if (started) stream.end(e);
        else reject(toClawError(e));
      },
    );
  });
}

function newId(prefix: string): string {
  return `${prefix}-${globalThis.crypto.randomUUID().replace(/-/g, '').slice(0, 24)}`;
}

export async function runChat(engine: GeneratingEngine, modelId: string, params: ChatCompletionCreateParams): Promise<ChatCompletion | ChunkStream<ChatCompletionChunk>> {
  const req = prepareChat(params);
  const id = newId('chatcmpl');
  const created = Math.floor(Date.now() / 1000);
  const wantLogprobs = req.logprobs !== undefined;
  const chunk = (choices: ChatCompletionChunk['choices'], extra: Partial<ChatCompletionChunk> = {}): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: modelId,
    choices,
    ...extra,
  });
  return run<ChatCompletion, ChatCompletionChunk>(engine, req, {
    whole: (turn) => ({
      id,
      object: 'chat.completion',
      created,
      model: modelId,
      choices: [{ index: 0, message: replyMessage(turn), finish_reason: turn.chatReason(), logprobs: wantLogprobs ? { content: turn.logprobs } : null }],
      usage: turn.usage(),
      webclaw: { warnings: turn.warnings, stats: turn.stats, prompt_token_ids: turn.promptIds, generated_token_ids: turn.ids },
    }),
    // The prompt's ids come first too, so a chat view can show the context in use while the reply streams.
    first: (turn) => chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }], { webclaw: { warnings: turn.extras(false)?.warnings ?? [], prompt_token_ids: turn.promptIds } }),
    token: (turn, text, lp) => withExtras(chunk([{ index: 0, delta: { content: text }, finish_reason: null, logprobs: lp ? { content: [lp] } : null }]), turn.extras(false)),
    toolCalls: (turn, calls) => {
      const deltas = calls.map((c, index) => ({ index, id: c.id, type: 'function' as const, function: { name: c.function.name, arguments: c.function.arguments } }));
      return withExtras(chunk([{ index: 0, delta: { tool_calls: deltas }, finish_reason: null, logprobs: null }]), turn.extras(false));
    },
    finish: (turn) => chunk([{ index: 0, delta: {}, finish_reason: turn.chatReason(), logprobs: null }], { webclaw: turn.extras(true) }),
    usage: (turn) => chunk([], { usage: turn.usage() }),
  });
}

/** The assistant message of a whole chat response: content null when the reply is calls alone (as OpenAI sends it). */
function replyMessage(turn: Turn): ChatCompletion['choices'][0]['message'] {
  if (turn.toolCalls.length === 0) return { role: 'assistant', content: turn.text, refusal: null };
  return { role: 'assistant', content: turn.text === '' ? null : turn.text, refusal: null, tool_calls: turn.toolCalls };
}

export async function runCompletion(engine: GeneratingEngine, modelId: string, params: CompletionCreateParams): Promise<Completion | ChunkStream<Completion>> {
  const req = prepareCompletion(params);
  const id = newId('cmpl');
  const created = Math.floor(Date.now() / 1000);
  const wantLogprobs = req.logprobs !== undefined;
  const completion = (choices: Completion['choices'], extra: Partial<Completion> = {}): Completion => ({ id, object: 'text_completion', created, model: modelId, choices, ...extra });
  return run<Completion, Completion>(engine, req, {
    whole: (turn) =>
      completion([{ index: 0, text: turn.text, finish_reason: turn.reason, logprobs: wantLogprobs ? legacyLogprobs(turn.logprobs) : null }], {
        usage: turn.usage(),
        webclaw: { warnings: turn.warnings, stats: turn.stats, prompt_token_ids: turn.promptIds, generated_token_ids: turn.ids },
      }),
    first: () => null,
    token: (turn, text, lp) => withExtras(completion([{ index: 0, text, finish_reason: null, logprobs: lp ? legacyLogprobs([lp]) : null }]), turn.extras(false)),
    finish: (turn) => completion([{ index: 0, text: '', finish_reason: turn.reason, logprobs: null }], { webclaw: turn.extras(true) }),
    usage: (turn) => completion([], { usage: turn.usage() }),
  });
}

function withExtras<T extends { webclaw?: WebClawExtras }>(chunk: T, extras: WebClawExtras | undefined): T {
  if (extras) chunk.webclaw = extras;
  return chunk;
}

/** The legacy completions API's logprobs: parallel arrays, text offsets into the completion. */
function legacyLogprobs(entries: ChatCompletionTokenLogprob[]): CompletionLogprobs {
  let offset = 0;
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  for (const e of entries) {
    out.tokens.push(e.token);
    out.token_logprobs.push(e.logprob);
    out.top_logprobs.push(Object.fromEntries(e.top_logprobs.map((t) => [t.token, t.logprob])));
    out.text_offset.push(offset);
    offset += e.token.length;
  }
  return out;
}
