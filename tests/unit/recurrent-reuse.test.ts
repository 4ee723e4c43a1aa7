// Which cached prefix a model with a recurrent state (lfm2, qwen35) may
// reuse (evalReusingCache): the state cannot be rewound, so evaluation
// continues from the state's position when the shared prefix reaches it,
// and starts again at 0 otherwise. The model is a stand-in that records
// where each evaluation starts; the GPU side is in tests/gpu/*-state.test.ts.

import { describe, expect, it } from 'vitest';
import { evalReusingCache } from '../../src/engine/context';
import type { Session } from '../../src/engine/session';

function session(cached: number[], recurrentPosition: number | null): { s: Session; starts: number[] } {
  const starts: number[] = [];
  const model = {
    recurrentPosition,
    scratch: { capacity: 64 },
    eval: async (tokens: readonly number[], startPos: number) => {
      starts.push(startPos);
      return new Float32Array(tokens.length);
    },
  };
  return { s: { cached: [...cached], model } as unknown as Session, starts };
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

  it('reuses any shared prefix without a recurrent state', async () => {
    const { s } = session(cached, null);
    expect((await evalReusingCache(s, [1, 2, 3, 9])).reused).toBe(3);
  });
});
