// Dispatch plumbing: workgroup counts past the per-dimension limit spill
// into a 2D grid, and one submit may record more dispatches than the uniform
// ring holds at first.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { createGpuOps, uploadWeight } from '../../src/gpu/ops';
import { gpuTestContext } from './gpu-test-context';
import { maxRelError, randomFloats } from './helpers/reference';

describe('dispatch', () => {
  it('spreads workgroups over x and y when a small per-dimension limit is hit', async () => {
    const t = await gpuTestContext();
    const ops = createGpuOps({ ...t.ctx, limits: { ...t.ctx.limits, maxComputeWorkgroupsPerDimension: 3 } });
    const rows = 37; // 10 matvec workgroups -> a 3 x 4 grid with 2 idle workgroups
    const cols = 32;
    const w = randomFloats(rows * cols, 1);
    const matrix = await uploadWeight(t.ctx, 'w', GgmlType.F32, rows, cols, new Uint8Array(w.buffer), t.ctx.allocator);
    const x = randomFloats(cols, 2);
    const xb = await t.act(x);
    const out = await t.act(rows);
    ops.matmul(matrix, xb, out, 1);
    const want = new Float32Array(rows);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) want[r] += w[r * cols + c] * x[c];
    expect(maxRelError(await ops.read(out, 0, rows), want)).toBeLessThan(1e-5);

    const count = 2000; // 8 elementwise workgroups -> 3 x 3
    const a = randomFloats(count, 3);
    const ab = await t.act(a);
    ops.scale(ab, 2, count);
    expect(await ops.read(ab, 0, count)).toEqual(Float32Array.from(a, (v) => 2 * v));
  });

  it('records more dispatches in one submit than the uniform ring first holds', async () => {
    const t = await gpuTestContext();
    const x = await t.act(new Float32Array([1, 2, 3, 4]));
    t.ops.begin();
    for (let i = 0; i < 600; i++) t.ops.scale(x, i % 2 === 0 ? 2 : 0.5, 4);
    t.ops.scale(x, 3, 4);
    t.ops.submit();
    expect(Array.from(await t.read(x))).toEqual([3, 6, 9, 12]);
  });

  it('accepts activation buffers whose byte size is not a multiple of 16', async () => {
    const t = await gpuTestContext();
    const w = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]); // 2 rows x 4 cols
    const matrix = await uploadWeight(t.ctx, 'w', GgmlType.F32, 2, 4, new Uint8Array(w.buffer), t.ctx.allocator);
    const STORAGE = 0x80 | 0x08 | 0x04;
    const xBuf = await t.ctx.allocator.alloc('activations', 24, STORAGE, 'x of 6 floats');
    t.ctx.device.queue.writeBuffer(xBuf, 0, new Float32Array([1, 1, 1, 1, 9, 9]));
    const outBuf = await t.ctx.allocator.alloc('activations', 12, STORAGE, 'out of 3 floats');
    t.ops.matmul(matrix, { buffer: xBuf, length: 6 }, { buffer: outBuf, length: 3 }, 1);
    expect(Array.from(await t.ops.read({ buffer: outBuf, length: 3 }, 0, 2))).toEqual([10, 26]);
  });
});
