// The KV cache as a conversation's memory: evaluate a prompt reusing the
// cached prefix it shares with the previous one, in prefill chunks, and
// shift the context when it is full.

import { toClawError } from '../errors';
import type { Session } from './session';
import type { GenerateEvent } from './types';

/**
 * Evaluates `tokens`, reusing the KV cache of the prefix they share with
 * what is cached (earlier turns of a conversation). The last token always
 * runs, since its logits are the result, except when a recurrent model's
 * saved state (below) has them.
 */
export async function evalReusingCache(s: Session, tokens: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; reused: number }> {
  let shared = 0;
  while (shared < s.cached.length && shared < tokens.length && s.cached[shared] === tokens[shared]) shared++;
  let reused = Math.min(shared, tokens.length - 1);
  const resumable = s.model.recurrentPosition;
  if (resumable !== null) {
    // A recurrent state (lfm2's conv, qwen35's delta-net) cannot be rewound: continue from where it is when
    // the shared prefix reaches that far (the rows past it are written again); else from the end of the last
    // prompt, whose state was saved, when this one starts with it (a regenerated reply); else from 0.
    const fromState = resumable >= 0 && reused >= resumable ? resumable : 0;
    const saved = s.savedPrompt;
    if (saved && saved.tokens.length > fromState && saved.tokens.length <= shared && startsWith(tokens, saved.tokens)) {
      const at = s.model.restoreRecurrentState();
      // (Saved together with savedPrompt, so always its length; were it not, a pass at 0 starts afresh.)
      reused = at === saved.tokens.length ? at : 0;
      s.cached.length = reused;
      // The same prompt again: its logits were kept with the state (and go back where a GPU draw reads them).
      if (reused === tokens.length) {
        const logits = saved.logits.slice();
        s.model.putLogits(logits);
        return { logits, reused };
      }
    } else {
      reused = fromState;
    }
  }
  s.cached.length = reused;
  const logits = await evalChunked(s, tokens.slice(reused), reused, signal);
  s.cached.push(...tokens.slice(reused));
  if (resumable !== null) {
    s.model.saveRecurrentState();
    s.savedPrompt = { tokens: tokens.slice(), logits: logits.slice() };
  }
  return { logits, reused };
}

function startsWith(tokens: readonly number[], prefix: readonly number[]): boolean {
  for (let i = 0; i < prefix.length; i++) if (tokens[i] !== prefix[i]) return false;
  return prefix.length <= tokens.length;
}

/** Evaluates `tokens` from `startPos` in chunks of the prefill batch; the logits of the last one. */
export async function evalChunked(s: Session, tokens: number[], startPos: number, signal?: AbortSignal): Promise<Float32Array> {
  const B = s.model.scratch.capacity;
  let logits: Float32Array | null = null;
  for (let i = 0; i < tokens.length; i += B) {
    signal?.throwIfAborted();
    logits = await s.model.eval(tokens.slice(i, i + B), startPos + i);
  }
  return logits!;
}

/**
 * The context is full: keep the first nKeep tokens and the newer half of
 * the rest (llama.cpp's context shift). The cache drops the old rows in
 * place and re-rotates the surviving keys; where the rope cannot be
 * re-applied (YaRN), a recurrent state would have to forget the dropped
 * tokens (lfm2, qwen35), or memory is short, the kept tokens are evaluated again.
 */
export async function shiftContext(s: Session, nKeep: number, emit: (e: GenerateEvent) => Promise<void>): Promise<void> {
  const used = s.cached.length;
  const rest = used - nKeep;
  const drop = Math.max(1, Math.floor(rest / 2));
  const inPlace = s.model.canShiftInPlace;
  await emit({
    type: 'warning',
    code: 'clw-ctx-overflow',
    message: `context full (${s.ctxSize} tokens): dropped ${drop} older tokens after the first ${nKeep} and continued`,
  });
  if (inPlace) {
    try {
      await s.model.shiftCache(nKeep, drop, used);
      s.cached.splice(nKeep, drop);
      return;
    } catch (e) {
      // The shift's temporary buffer did not fit: re-evaluating needs no memory.
      if (toClawError(e).code !== 'clw-gpu-oom') throw e;
    }
  }
  const kept = [...s.cached.slice(0, nKeep), ...s.cached.slice(nKeep + drop)];
  s.cached.length = 0;
  await evalChunked(s, kept, 0);
  s.cached.push(...kept);
}
