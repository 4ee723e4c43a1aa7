// Every option a caller passes to load, inspect and generate is checked
// before any work starts: an unknown name, a wrong type or a value out of
// range is clw-bad-request naming the option and the value.

import { ClawError } from '../errors';
import { createSampler } from './sampler';
import { checkMessageTools, checkTools } from '../tools/validate';
import { checkResponseFormat } from '../structured';
import type { ChatMessage, GenerateOptions, LoadOptions } from './types';

/** Longest reply one request may ask for (a count beyond it is a mistake, not a wish). */
export const MAX_TOKENS_LIMIT = 2 ** 31 - 1;
/** Longest context a load may ask for (llama.cpp's largest models train for far less). */
export const MAX_CTX_SIZE = 2 ** 24;
/** Most alternatives a token's logprobs may list (OpenAI's top_logprobs allows 20). */
export const MAX_TOP_LOGPROBS = 20;
/** Largest prefill batch. */
export const MAX_BATCH_SIZE = 65_536;

const GENERATE_KEYS = new Set<keyof GenerateOptions>([
  'maxTokens', 'stop', 'signal', 'addBos', 'logprobs', 'tools', 'toolChoice',
  'temperature', 'topK', 'topP', 'minP', 'repeatPenalty', 'repeatLastN', 'frequencyPenalty', 'presencePenalty', 'seed',
  'responseFormat',
]);
const LOAD_KEYS = new Set<keyof LoadOptions>(['ctxSize', 'vramLimit', 'nGpuLayers', 'dtype', 'kvType', 'kvCacheDynamic', 'batchSize']);
const ROLES = new Set<ChatMessage['role']>(['system', 'user', 'assistant', 'tool']);

function bad(option: string, value: unknown, expected: string): ClawError {
  const shown = typeof value === 'string' ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value) : String(value);
  return new ClawError('clw-bad-request', `${option} = ${shown}; expected ${expected}`, { details: { option, value: typeof value === 'object' ? undefined : value } });
}

function checkKeys(options: object, known: Set<string>, what: string): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw bad(what, options, 'an options object');
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new ClawError('clw-bad-request', `unknown ${what} "${key}"`, { fix: `Known: ${[...known].join(', ')}.`, details: { option: key } });
  }
}

function checkInteger(option: string, v: unknown, min: number, max: number): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw bad(option, v, `a whole number from ${min} to ${max}`);
}

export function checkGenerateOptions(options: GenerateOptions): void {
  checkKeys(options, GENERATE_KEYS as Set<string>, 'generate option');
  checkInteger('maxTokens', options.maxTokens, 1, MAX_TOKENS_LIMIT);
  checkInteger('logprobs', options.logprobs, 0, MAX_TOP_LOGPROBS);
  const stop: unknown = options.stop;
  if (stop !== undefined) {
    if (!Array.isArray(stop)) throw bad('stop', stop, 'a list of strings');
    for (const s of stop) if (typeof s !== 'string' || s.length === 0) throw bad('stop', s, 'non-empty strings');
  }
  if (options.addBos !== undefined && typeof options.addBos !== 'boolean') throw bad('addBos', options.addBos, 'true or false');
  const signal: unknown = options.signal;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal)) throw bad('signal', signal, 'an AbortSignal');
  checkTools(options.tools, options.toolChoice);
  // The sampling options: the sampler checks its own, here before any work.
  createSampler(options);
  if (options.responseFormat !== undefined) checkResponseFormat(options.responseFormat);
}

export function checkInput(input: unknown): void {
  if (typeof input === 'string') return;
  if (!Array.isArray(input)) throw bad('input', input, 'a prompt string or a list of chat messages');
  if (input.length === 0) throw new ClawError('clw-bad-request', 'the conversation has no messages', { fix: 'Send at least one message.' });
  input.forEach((m: unknown, i) => {
    const msg = m as Partial<ChatMessage> | null;
    if (typeof msg !== 'object' || msg === null) throw bad(`messages[${i}]`, m, 'a { role, content } object');
    if (!ROLES.has(msg.role as ChatMessage['role'])) throw bad(`messages[${i}].role`, msg.role, 'system, user, assistant or tool');
    if (typeof msg.content !== 'string') throw bad(`messages[${i}].content`, msg.content, 'a string');
    checkMessageTools(msg, `messages[${i}]`);
  });
}

export function checkLoadOptions(options: LoadOptions): void {
  checkKeys(options, LOAD_KEYS as Set<string>, 'load option');
  checkInteger('ctxSize', options.ctxSize, 1, MAX_CTX_SIZE);
  checkInteger('batchSize', options.batchSize, 1, MAX_BATCH_SIZE);
  if (options.nGpuLayers !== undefined && options.nGpuLayers !== 'auto') checkInteger('nGpuLayers', options.nGpuLayers, 0, MAX_CTX_SIZE);
  if (options.dtype !== undefined && !['auto', 'f32', 'f16'].includes(options.dtype)) throw bad('dtype', options.dtype, 'auto, f32 or f16');
  if (options.kvType !== undefined && !['f32', 'f16'].includes(options.kvType)) throw bad('kvType', options.kvType, 'f32 or f16');
  if (options.kvCacheDynamic !== undefined && typeof options.kvCacheDynamic !== 'boolean') throw bad('kvCacheDynamic', options.kvCacheDynamic, 'true or false');
  const limit: unknown = options.vramLimit;
  if (limit !== undefined) {
    const l = limit as { fraction?: unknown; bytes?: unknown };
    const ok = typeof l === 'object' && l !== null && (typeof l.fraction === 'number' || typeof l.bytes === 'number');
    if (!ok) throw bad('vramLimit', limit, '{ fraction } or { bytes }');
  }
}
