// The in-place context shift of the KV cache: kept rows stay, dropped rows
// go, the rest move down, and moved keys come out as if they had been
// rotated at their new positions in the first place.

import { describe, expect, it } from 'vitest';
import { KvCache, type KeyRope } from '../../src/model/kv-cache';
import { gpuTestContext } from './gpu-test-context';

const N_KV_HEADS = 2;
const HEAD_DIM = 16;
const WIDTH = N_KV_HEADS * HEAD_DIM;

function randomRows(rows: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: rows * WIDTH }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

async function shiftCase(rope: KeyRope, used: number, nKeep: number, drop: number) {
  const t = await gpuTestContext();
  const raw = randomRows(used, 7);
  // Keys as the forward pass stores them: roped at positions 0..used-1.
  const keys = await t.act(raw);
  t.ops.rope(keys, used, { ...rope, nHeads: N_KV_HEADS, startPos: 0 });
  const values = await t.act(raw);
  const kv = await KvCache.create(t.ctx.allocator, t.ctx.device, { nLayers: 1, kvDim: WIDTH, maxCapacity: used, dynamic: false });
  t.ops.writeCacheRows(keys, kv.keys[0], 0, used, WIDTH);
  t.ops.writeCacheRows(values, kv.values[0], 0, used, WIDTH);
  t.ops.submit();
  const liveBefore = t.ctx.allocator.liveBytes();

  await kv.shift(t.ops, () => rope, N_KV_HEADS, nKeep, drop, used);
  expect(t.ctx.allocator.liveBytes()).toBe(liveBefore);

  const moved = used - nKeep - drop;
  const cacheK = { buffer: kv.keys[0], length: used * WIDTH };
  const cacheV = { buffer: kv.values[0], length: used * WIDTH };
  const gotK = await t.read(cacheK, 0, (nKeep + moved) * WIDTH);
  const gotV = await t.read(cacheV, 0, (nKeep + moved) * WIDTH);
  // Expected: the moved raw rows roped at their new positions nKeep.., the kept rows untouched.
  const expectedMoved = await t.act(raw.slice((nKeep + drop) * WIDTH));
  t.ops.rope(expectedMoved, moved, { ...rope, nHeads: N_KV_HEADS, startPos: nKeep });
  const wantMoved = await t.read(expectedMoved);
  const keptK = await t.read(keys, 0, nKeep * WIDTH);
  kv.free();
  return { gotK, gotV, wantMoved, keptK, raw, moved };
}

describe('KV cache context shift', () => {
  for (const neox of [false, true]) {
    it(`keeps the prefix, drops the oldest rows and re-rotates moved keys to their new positions (${neox ? 'NeoX' : 'adjacent'} rope)`, async () => {
      const rope: KeyRope = { headDim: HEAD_DIM, nRot: HEAD_DIM, freqBase: 10000, freqScale: 1, neox };
      const nKeep = 3;
      const drop = 40;
      const { gotK, gotV, wantMoved, keptK, raw, moved } = await shiftCase(rope, 100, nKeep, drop);
      expect(Array.from(gotK.subarray(0, nKeep * WIDTH))).toEqual(Array.from(keptK));
      let worst = 0;
      for (let i = 0; i < moved * WIDTH; i++) worst = Math.max(worst, Math.abs(gotK[nKeep * WIDTH + i] - wantMoved[i]));
      expect(worst).toBeLessThan(1e-5);
      expect(Array.from(gotV.subarray(0, nKeep * WIDTH))).toEqual(Array.from(raw.subarray(0, nKeep * WIDTH)));
      expect(Array.from(gotV.subarray(nKeep * WIDTH))).toEqual(Array.from(raw.subarray((nKeep + drop) * WIDTH, (nKeep + drop + moved) * WIDTH)));
    });
  }

  it('re-rotates keys of a partial rope with linear scaling', async () => {
    const rope: KeyRope = { headDim: HEAD_DIM, nRot: 8, freqBase: 500000, freqScale: 0.25, neox: false };
    const { gotK, wantMoved, moved } = await shiftCase(rope, 64, 1, 31);
    let worst = 0;
    for (let i = 0; i < moved * WIDTH; i++) worst = Math.max(worst, Math.abs(gotK[WIDTH + i] - wantMoved[i]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('rejects a shift that drops more rows than are used', async () => {
    const t = await gpuTestContext();
    const kv = await KvCache.create(t.ctx.allocator, t.ctx.device, { nLayers: 1, kvDim: WIDTH, maxCapacity: 16, dynamic: false });
    const rope: KeyRope = { headDim: HEAD_DIM, nRot: HEAD_DIM, freqBase: 10000, freqScale: 1, neox: false };
    await expect(kv.shift(t.ops, () => rope, N_KV_HEADS, 1, 20, 16)).rejects.toMatchObject({ code: 'clw-bad-request' });
    kv.free();
  });
});
