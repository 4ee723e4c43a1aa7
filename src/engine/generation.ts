// One generation request on a loaded model: the prompt's tokens (raw text
// or chat messages through the model's template), the prefill, and the
// token loop with sampling, stop strings and context shifts.

import { ClawError } from '../errors';
import { evalReusingCache, shiftContext } from './context';
import type { Session } from './session';
import { createSampler } from './sampler';
import { StopMatcher } from './stop';
import { tokenLogprobs } from './logprobs';
import type { ChatMessage, GenerateEvent, GenerateOptions } from './types';

export type Emit = (e: GenerateEvent) => Promise<void>;

export interface GenerationHooks {
  /** Called before each context shift (the engine counts them). */
  onContextShift(): void;
}

export function promptTokens(s: Session, input: string | ChatMessage[], options: GenerateOptions): number[] {
  if (typeof input === 'string') {
    return s.tokenizer.encode(input, { addSpecial: options.addBos ?? true });
  }
  const tk = s.tokenizer;
  const text = s.chat.render(input, {
    bosToken: tk.bosId !== null ? tk.tokenText(tk.bosId) : '',
    eosToken: tk.eosId !== null ? tk.tokenText(tk.eosId) : '',
  });
  // Templates write BOS themselves where the model wants it; avoid a double BOS.
  const ids = tk.encode(text, { addSpecial: true, parseSpecial: true });
  if (ids.length >= 2 && tk.bosId !== null && ids[0] === tk.bosId && ids[1] === tk.bosId) ids.shift();
  return ids;
}

/** `options.signal` aborts when the caller cancels or goes away (see queue.ts). */
export async function runGeneration(s: Session, input: string | ChatMessage[], options: GenerateOptions, emit: Emit, hooks: GenerationHooks): Promise<void> {
  const signal = options.signal;
  const maxTokens = options.maxTokens ?? 256;
  let tokens = promptTokens(s, input, options);
  if (tokens.length === 0) throw new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt.' });
  for (const id of tokens) {
    if (id < 0 || id >= s.hp.nVocab) throw new ClawError('clw-model-invalid', `token id ${id} is outside the vocabulary of ${s.hp.nVocab}`);
  }
  const nKeep = s.tokenizer.addBos && tokens[0] === s.tokenizer.bosId ? 1 : 0;
  // Grow the KV cache for the prompt up front: if memory stops it short, the context is what it holds.
  await s.model.reserve(Math.min(tokens.length, s.ctxSize));
  // A prompt longer than the context keeps its start (BOS) and its end.
  const room = Math.max(1, s.ctxSize - Math.min(maxTokens, Math.floor(s.ctxSize / 4)));
  if (tokens.length > room) {
    const dropped = tokens.length - room;
    tokens = [...tokens.slice(0, nKeep), ...tokens.slice(nKeep + dropped)];
    await emit({ type: 'warning', code: 'clw-ctx-overflow', message: `the prompt has ${tokens.length + dropped} tokens but the context holds ${s.ctxSize}: dropped ${dropped} tokens after the start` });
  }
  if (typeof input !== 'string' && s.chat.problem) await emit({ type: 'warning', code: 'clw-model-invalid', message: s.chat.problem });
  await emit({ type: 'prompt', tokenIds: tokens.slice() });

  const t0 = performance.now();
  let { logits, reused: reuse } = await evalReusingCache(s, tokens, signal);
  const t1 = performance.now();

  const sampler = createSampler(options);
  const history = tokens.slice();
  const decoder = s.tokenizer.createDecoder();
  const stops = new StopMatcher(options.stop ?? []);
  let nGenerated = 0;
  let reason: 'stop' | 'length' | 'abort' = 'length';
  while (nGenerated < maxTokens) {
    if (signal?.aborted) {
      reason = 'abort';
      break;
    }
    const id = sampler.sample(logits, history);
    if (s.tokenizer.eogIds.has(id)) {
      reason = 'stop';
      break;
    }
    history.push(id);
    nGenerated++;
    const { emit: text, stopped } = stops.push(decoder.push(id));
    const logprobs = options.logprobs !== undefined ? tokenLogprobs(logits, id, options.logprobs) : undefined;
    await emit(logprobs ? { type: 'token', tokenId: id, text, logprobs } : { type: 'token', tokenId: id, text });
    if (stopped) {
      reason = 'stop';
      break;
    }
    if (nGenerated >= maxTokens) break;
    // Grow the KV cache for the next token; when the context is full (or memory allows no more), shift it.
    if (s.cached.length >= s.ctxSize || !(await s.model.reserve(s.cached.length + 1))) {
      hooks.onContextShift();
      await shiftContext(s, nKeep, emit);
    }
    logits = await s.model.eval([id], s.cached.length);
    s.cached.push(id);
  }
  const tail = reason === 'stop' ? '' : stops.flush() + decoder.flush();
  if (tail) await emit({ type: 'token', tokenId: -1, text: tail });
  const t2 = performance.now();
  const nPrompt = tokens.length - reuse;
  await emit({
    type: 'done',
    reason,
    stats: {
      nPrompt: tokens.length,
      nCached: reuse,
      nGenerated,
      prefillMs: t1 - t0,
      decodeMs: t2 - t1,
      prefillTokPerS: nPrompt > 0 ? (nPrompt * 1000) / Math.max(1e-3, t1 - t0) : 0,
      decodeTokPerS: nGenerated > 1 ? ((nGenerated - 1) * 1000) / Math.max(1e-3, t2 - t1) : 0,
    },
  });
}
