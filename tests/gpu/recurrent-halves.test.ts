// The recurrent state's two halves (KvCache): the state after n positions
// is in half n % 2, so a pass of one position can be taken back
// (rewindState) and nothing longer can; the saved copy is the current half,
// and goes back into the half of its own position. The kernels' side (which
// half a call reads and writes) is checked through whole models: the decode
// pass against the batch path (decode-pass.test.ts) and a stop taken back
// (stateful-decode.test.ts).

import { describe, expect, it } from 'vitest';
import { KvCache } from '../../src/model/kv-cache';
import { gpuTestContext } from './gpu-test-context';

/** Floats of one copy of the one state buffer. */
const FLOATS = 4;

async function recurrentCache() {
  const t = await gpuTestContext();
  const kv = await KvCache.create(t.ctx.allocator, t.ctx.device, {
    nLayers: 2, kvDim: 8, maxCapacity: 16, dynamic: false, recurrentLayers: [true, false], stateBytes: [FLOATS * 4],
  });
  const state = kv.states[0]![0];
  return {
    t,
    kv,
    /** Both halves, as the kernels would have left them. */
    write: (half0: number[], half1: number[]) => t.ctx.device.queue.writeBuffer(state, 0, new Float32Array([...half0, ...half1])),
    read: async () => Array.from(await t.read({ buffer: state, length: 2 * FLOATS })),
  };
}

/** What the pipeline tells the cache of a pass over [from, to). */
function pass(kv: KvCache, from: number, to: number): void {
  kv.beginPass(from);
  kv.endPass(to);
}

describe('the recurrent state in two halves', () => {
  it('holds both halves, both cleared by a pass at position 0', async () => {
    const { kv, read } = await recurrentCache();
    expect(kv.states[0]![0].size).toBe(2 * FLOATS * 4);
    expect(kv.states[1]).toBeNull();
    pass(kv, 0, 5);
    // The pass at 0 cleared both halves.
    expect(await read()).toEqual(new Array(2 * FLOATS).fill(0));
    kv.free();
  });

  it('takes back a pass of one position, not a longer one, and forgets the state where it cannot', async () => {
    const { kv } = await recurrentCache();
    pass(kv, 0, 5);
    expect(kv.rewindState(5)).toBe(true);
    expect(kv.stateSeen).toBe(5);
    // Five positions in one pass: the state at 4 was never kept.
    expect(kv.rewindState(4)).toBe(false);
    expect(kv.stateSeen).toBe(-1);

    pass(kv, 0, 5);
    pass(kv, 5, 6);
    expect(kv.rewindState(5)).toBe(true);
    expect(kv.stateSeen).toBe(5);
    // Once taken back, the step before it is not there either (its half now holds the state at 5).
    expect(kv.rewindState(4)).toBe(false);

    pass(kv, 0, 5);
    pass(kv, 5, 6);
    pass(kv, 6, 7);
    // Two steps back: the half that held 5 was written by the step from 6.
    expect(kv.rewindState(5)).toBe(false);
    expect(kv.stateSeen).toBe(-1);
    kv.free();
  });

  it('saves the current half and restores it into the half of its position', async () => {
    const { kv, write, read } = await recurrentCache();
    pass(kv, 0, 3);
    // After 3 positions the state is in half 1.
    write([9, 9, 9, 9], [1, 2, 3, 4]);
    kv.saveState();
    pass(kv, 3, 4);
    write([5, 6, 7, 8], [0, 0, 0, 0]);
    expect(kv.restoreState()).toBe(3);
    expect(await read()).toEqual([5, 6, 7, 8, 1, 2, 3, 4]);
    // A restored state has no step to take back.
    expect(kv.rewindState(2)).toBe(false);

    pass(kv, 0, 2);
    // After 2 positions, half 0.
    write([4, 3, 2, 1], [7, 7, 7, 7]);
    kv.saveState();
    pass(kv, 2, 3);
    write([0, 0, 0, 0], [6, 6, 6, 6]);
    expect(kv.restoreState()).toBe(2);
    expect((await read()).slice(0, FLOATS)).toEqual([4, 3, 2, 1]);
    kv.free();
  });
});
