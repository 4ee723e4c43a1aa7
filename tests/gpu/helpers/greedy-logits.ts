// Two engines fed the same tokens one at a time (the reference's greedy
// choices): how far apart their logits come out, for tests that run a kernel
// variant of the decode pass against another path.

import type { ClawEngine } from '../../../src/engine/engine';
import { argmax } from '../../../src/engine/sampler';
import { relativeDiff } from './reference';

/** The largest relative difference of the logits over `steps` positions, each the reference's argmax after `prompt`. */
export async function greedyLogitsDiff(test: ClawEngine, reference: ClawEngine, steps: number, prompt: readonly number[] = [1]): Promise<number> {
  const tokens = [...prompt];
  let worst = 0;
  for (let i = 0; i < steps; i++) {
    const expected = await reference.nextTokenLogits(tokens);
    worst = Math.max(worst, relativeDiff(await test.nextTokenLogits(tokens), expected));
    tokens.push(argmax(expected));
  }
  return worst;
}
