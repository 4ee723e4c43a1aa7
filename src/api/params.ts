// OpenAI request fields -> the engine's input and GenerateOptions. Every bad
// field is a clw-bad-request naming it; fields the engine cannot honour
// (n > 1, the legacy functions) are refused rather than ignored. Tools and
// tool messages map to the engine's fields one to one, and so does
// response_format (GenerateOptions.responseFormat, checked by the engine).
// Defaults are the engine's (src/engine/sampler.ts DEFAULT_SAMPLING), not
// OpenAI's: a request without temperature samples at 0.8 with top-k 40.

import { MAX_TOP_LOGPROBS } from '../engine/request-options';
import { ClawError } from '../errors';
import type { ChatMessage, GenerateOptions } from '../engine/types';
import type { ChatCompletionCreateParams, ChatCompletionMessageParam, CompletionCreateParams, CompletionParamsBase } from './types';

/** Limits on what one request may carry (the server's body limit comes on top). */
export const REQUEST_LIMITS = {
  maxMessages: 1024,
  maxStops: 16,
  maxStopLength: 256,
  maxTopLogprobsChat: MAX_TOP_LOGPROBS,
  maxLogprobsCompletion: 5,
} as const;

export interface PreparedRequest {
  input: string | ChatMessage[];
  options: GenerateOptions;
  stream: boolean;
  includeUsage: boolean;
  /** Alternatives per token when logprobs were asked for, else undefined. */
  logprobs: number | undefined;
}

const UNSUPPORTED = ['functions', 'function_call', 'logit_bias', 'suffix', 'best_of', 'echo', 'audio', 'modalities', 'prediction'];

/** Values of UNSUPPORTED fields that ask for nothing (clients send some of them by default). */
function asksForNothing(key: string, v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  if (key === 'tool_choice' || key === 'function_call') return v === 'none';
  if (key === 'best_of') return v === 1;
  return typeof v === 'object' && Object.keys(v).length === 0;
}

export function prepareChat(params: ChatCompletionCreateParams): PreparedRequest {
  checkObject(params);
  if (!Array.isArray(params.messages) || params.messages.length === 0) throw bad('messages', 'a non-empty array of messages');
  if (params.messages.length > REQUEST_LIMITS.maxMessages) throw bad('messages', `at most ${REQUEST_LIMITS.maxMessages} messages`);
  const messages = params.messages.map(toChatMessage);
  let logprobs: number | undefined;
  if (params.logprobs !== undefined && params.logprobs !== null && typeof params.logprobs !== 'boolean') throw bad('logprobs', 'true or false');
  const top = optionalInt(params, 'top_logprobs', 0, REQUEST_LIMITS.maxTopLogprobsChat);
  if (params.logprobs) logprobs = top ?? 0;
  else if (top !== undefined && top > 0) throw bad('top_logprobs', 'used together with logprobs: true');
  const maxTokens = optionalInt(params, 'max_completion_tokens', 1, Number.MAX_SAFE_INTEGER) ?? optionalInt(params, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const prepared = { input: messages, ...common(params, maxTokens, logprobs) };
  if (params.tools !== undefined && params.tools !== null) prepared.options.tools = params.tools;
  if (params.tool_choice !== undefined && params.tool_choice !== null) prepared.options.toolChoice = params.tool_choice;
  if (params.parallel_tool_calls !== undefined && params.parallel_tool_calls !== null && typeof params.parallel_tool_calls !== 'boolean') throw bad('parallel_tool_calls', 'true or false');
  return prepared;
}

export function prepareCompletion(params: CompletionCreateParams): PreparedRequest {
  checkObject(params);
  if (typeof params.prompt !== 'string') throw bad('prompt', 'a string');
  if (params.add_bos !== undefined && typeof params.add_bos !== 'boolean') throw bad('add_bos', 'true or false');
  // Tools need chat messages (the model's chat template offers them).
  for (const key of ['tools', 'tool_choice']) refuse(params, key, 'tools work with chat completions only');
  const logprobs = optionalInt(params, 'logprobs', 0, REQUEST_LIMITS.maxLogprobsCompletion);
  const maxTokens = optionalInt(params, 'max_tokens', 1, Number.MAX_SAFE_INTEGER);
  const prepared = { input: params.prompt, ...common(params, maxTokens, logprobs) };
  if (params.add_bos !== undefined) prepared.options.addBos = params.add_bos;
  return prepared;
}

function common(params: CompletionParamsBase, maxTokens: number | undefined, logprobs: number | undefined): Omit<PreparedRequest, 'input'> {
  for (const key of UNSUPPORTED) refuse(params, key, 'not supported by WebClaw');
  if (params.n !== undefined && params.n !== null && params.n !== 1) throw bad('n', '1 (one choice per request is supported)', params.n);
  if (params.stream !== undefined && params.stream !== null && typeof params.stream !== 'boolean') throw bad('stream', 'true or false');
  if (params.signal !== undefined && !(params.signal instanceof AbortSignal)) throw bad('signal', 'an AbortSignal');
  const options: GenerateOptions = {
    maxTokens,
    temperature: optionalNumber(params, 'temperature', 0, 100),
    topP: optionalNumber(params, 'top_p', 0, 1),
    topK: optionalInt(params, 'top_k', 0, Number.MAX_SAFE_INTEGER),
    minP: optionalNumber(params, 'min_p', 0, 1),
    repeatPenalty: optionalNumber(params, 'repeat_penalty', 0, 100),
    repeatLastN: optionalInt(params, 'repeat_last_n', 0, Number.MAX_SAFE_INTEGER),
    frequencyPenalty: optionalNumber(params, 'frequency_penalty', -2, 2),
    presencePenalty: optionalNumber(params, 'presence_penalty', -2, 2),
    seed: optionalInt(params, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER),
    stop: stops(params.stop),
    signal: params.signal,
    logprobs,
    responseFormat: responseFormat(params.response_format),
  };
  for (const key of Object.keys(options) as (keyof GenerateOptions)[]) if (options[key] === undefined) delete options[key];
  const streamOptions = params.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) throw bad('stream_options', 'an object');
  return { options, stream: params.stream === true, includeUsage: streamOptions?.include_usage === true, logprobs };
}

function responseFormat(v: CompletionParamsBase['response_format']): GenerateOptions['responseFormat'] {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('response_format', "an object such as { type: 'json_object' }", v);
  return v.type === 'text' ? undefined : v;
}

function toChatMessage(m: ChatCompletionMessageParam, i: number): ChatMessage {
  const where = `messages[${i}]`;
  if (typeof m !== 'object' || m === null) throw bad(where, 'an object with role and content');
  const role = m.role === 'developer' ? 'system' : m.role;
  if (role !== 'system' && role !== 'user' && role !== 'assistant' && role !== 'tool') throw bad(`${where}.role`, 'system, developer, user, assistant or tool');
  const calls = m.tool_calls;
  let content: string;
  if ((m.content === null || m.content === undefined) && role === 'assistant' && Array.isArray(calls) && calls.length > 0) content = '';
  else if (typeof m.content === 'string') content = m.content;
  else if (Array.isArray(m.content)) {
    content = m.content
      .map((part, j) => {
        if (typeof part !== 'object' || part === null || part.type !== 'text' || typeof part.text !== 'string') throw bad(`${where}.content[${j}]`, 'a text part ({ type: "text", text })');
        return part.text;
      })
      .join('');
  } else throw bad(`${where}.content`, 'a string or an array of text parts');
  const message: ChatMessage = { role, content };
  if (calls !== undefined && calls !== null) message.toolCalls = calls;
  if (m.tool_call_id !== undefined && m.tool_call_id !== null) message.toolCallId = m.tool_call_id;
  return message;
}

function refuse(params: object, key: string, why: string): void {
  const v = (params as Record<string, unknown>)[key];
  if (!asksForNothing(key, v)) throw new ClawError('clw-bad-request', `"${key}": ${why}`, { fix: `Leave out "${key}".`, details: { param: key } });
}

function stops(stop: CompletionParamsBase['stop']): string[] | undefined {
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.some((s) => typeof s !== 'string')) throw bad('stop', 'a string or an array of strings');
  if (list.length > REQUEST_LIMITS.maxStops) throw bad('stop', `at most ${REQUEST_LIMITS.maxStops} strings`);
  if (list.some((s) => s.length > REQUEST_LIMITS.maxStopLength)) throw bad('stop', `strings of at most ${REQUEST_LIMITS.maxStopLength} characters`);
  return list.filter((s) => s.length > 0);
}

function checkObject(params: unknown): void {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new ClawError('clw-bad-request', 'the request must be a JSON object', { fix: 'Send an object with the request fields.' });
}

function optionalNumber(params: object, key: string, min: number, max: number): number | undefined {
  const v = (params as Record<string, unknown>)[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw bad(key, `a number in [${min}, ${max}]`, v);
  return v;
}

function optionalInt(params: object, key: string, min: number, max: number): number | undefined {
  const v = optionalNumber(params, key, min, max);
  if (v !== undefined && !Number.isInteger(v)) throw bad(key, `an integer in [${min}, ${max}]`, v);
  return v;
}

function bad(param: string, expected: string, got?: unknown): ClawError {
  const shown = got === undefined ? '' : `, got ${JSON.stringify(got)}`;
  return new ClawError('clw-bad-request', `"${param}" must be ${expected}${shown}`, { fix: `Fix "${param}" in the request.`, details: { param } });
}
