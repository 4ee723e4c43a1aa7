// Log-probabilities of the model's next-token distribution (log-softmax of
// the raw logits, before penalties, truncation and temperature), for the
// OpenAI `logprobs` / `top_logprobs` fields. Computed only when a request
// asks for them.

import type { TokenLogprobs } from './types';

/** The chosen token's log-probability and the `top` most likely tokens with theirs, best first. */
export function tokenLogprobs(logits: Float32Array, chosen: number, top: number): TokenLogprobs {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) if (logits[i] > -Infinity) sum += Math.exp(logits[i] - max);
  const logZ = max + Math.log(sum);
  const best: number[] = [];
  // A small insertion list: `top` is at most 20 (OpenAI's limit).
  for (let i = 0; i < logits.length && top > 0; i++) {
    const v = logits[i];
    if (Number.isNaN(v) || (best.length === top && v <= logits[best[top - 1]])) continue;
    let at = best.length < top ? best.length : top - 1;
    while (at > 0 && logits[best[at - 1]] < v) at--;
    best.splice(at, 0, i);
    if (best.length > top) best.pop();
  }
  return {
    logprob: logits[chosen] - logZ,
    top: best.map((tokenId) => ({ tokenId, logprob: logits[tokenId] - logZ })),
  };
}
