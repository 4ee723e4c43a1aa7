// Which cached prefix a model with a recurrent state (lfm2, qwen35) may
// reuse (evalReusingCache): the state cannot be rewound, so evaluation
// continues from the state's position when the shared prefix reaches it,
// else from the end of the last prompt when the new one starts with it (its
// state was saved), and starts again at 0 otherwise. The model is a
// stand-in that records where each evaluation starts and what is saved and
// restored; the GPU side is in tests/gpu/*-state.test.ts.

import { describe, expect, it } from 'vitest';
import { evalReusingCache } from '../../src/engine/context';
import type { Session } from '../../src/engine/session';

function session(cached: number[], recurrentPosition: number | null): { s: Session; starts: number[]; restores: number[]; put: Float32Array[] } {
  const starts: number[] = [];
  const restores: number[] = [];
  const put: Float32Array[] = [];
  let saved = -1;
  const model = {
    recurrentPosition,
    scratch: { capacity: 64 },
    eval: async (tokens: readonly number[], startPos: number) => {
      starts.push(startPos);
      if (model.recurrentPosition !== null) model.recurrentPosition = startPos + tokens.length;
      // Logits that tell the evaluations apart: the last token and its position.
      return Float32Array.of(tokens.at(-1)!, startPos + tokens.length - 1);
    },
    saveRecurrentState: () => void (saved = model.recurrentPosition ?? -1),
    restoreRecurrentState: () => {
      restores.push(saved);
      model.recurrentPosition = saved;
      return saved;
    },
    putLogits: (logits: Float32Array) => void put.push(logits),
  };
  return { s: { cached: [...cached], model } as unknown as Session, starts, restores, put };
}

describe('prefix reuse with a recurrent state', () => {
  const cached = [1, 2, 3, 4, 5, 6];

  it('continues from the state when the shared prefix reaches its position, evaluating the rest again', async () => {
    // The state saw 4 positions; the cache lists 6 tokens, all shared with the prompt.
    const { s, starts } = session(cached, 4);
    expect((await evalReusingCache(s, [...cached, 7, 8])).reused).toBe(4);
    expect(starts).toEqual([4]);
    expect(s.cached).toEqual([...cached, 7, 8]);
  });

  it('starts again at 0 when the shared prefix is shorter than what the state has seen, or after a failed pass', async () => {
    const shorter = session(cached, 6);
    expect((await evalReusingCache(shorter.s, [1, 2, 3, 9])).reused).toBe(0);
    expect(shorter.starts).toEqual([0]);
    const failed = session(cached, -1);
    expect((await evalReusingCache(failed.s, [...cached, 7])).reused).toBe(0);
  });

  it('the same prompt after a reply: the saved state and logits, no evaluation; a prompt extending it continues from its end', async () => {
    const { s, starts, restores, put } = session([], 0);
    const prompt = [1, 2, 3, 4];
    const first = await evalReusingCache(s, prompt);
    expect(put).toHaveLength(0);
    // The reply moves the state on (two tokens evaluated after the prompt).
    s.cached.push(50, 51);
    Object.assign(s.model, { recurrentPosition: 6 });
    const again = await evalReusingCache(s, prompt);
    expect(again).toEqual({ logits: first.logits, reused: 4 });
    expect(again.logits).not.toBe(first.logits);
    // No pass ran: the kept logits go back where the GPU sampler reads them.
    expect(put).toEqual([first.logits]);
    expect(starts).toEqual([0]);
    expect(restores).toEqual([4]);
    // Diverging from the reply after the prompt: from the saved end, not from 0.
    s.cached.push(50, 51);
    Object.assign(s.model, { recurrentPosition: 6 });
    expect((await evalReusingCache(s, [...prompt, 60, 61])).reused).toBe(4);
    expect(starts).toEqual([0, 4]);
    expect(s.cached).toEqual([...prompt, 60, 61]);
  });

  it('does not use a saved state whose prompt is no longer the cached prefix, or when the state itself is further on', async () => {
    const { s, starts, restores } = session([], 0);
    await evalReusingCache(s, [1, 2, 3, 4]);
    // The cache now holds other tokens at those positions (a context shift re-ran them from 0), and so does the prompt.
    s.cached.splice(0, s.cached.length, 1, 2, 9, 9, 9);
    Object.assign(s.model, { recurrentPosition: 5 });
    expect((await evalReusingCache(s, [1, 2, 9, 9, 7])).reused).toBe(0);
    await evalReusingCache(s, [1, 2, 3, 4]);
    // The state has seen more of the shared prefix than the saved prompt's end: it continues from there.
    await evalReusingCache(s, [1, 2, 3]);
    s.cached.push(7, 8);
    Object.assign(s.model, { recurrentPosition: 5 });
    expect((await evalReusingCache(s, [1, 2, 3, 7, 8, 9])).reused).toBe(5);
    expect(restores).toEqual([]);
    expect(starts).toEqual([0, 0, 0, 0, 5]);
  });

  it('reuses any shared prefix without a recurrent state', async () => {
    const { s } = session(cached, null);
    expect((await evalReusingCache(s, [1, 2, 3, 9])).reused).toBe(3);
  });
});
