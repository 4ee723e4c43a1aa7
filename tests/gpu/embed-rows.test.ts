// Token embedding lookup: decoded rows of the table in token order, for
// every GPU weight type, with the table split into parts.

import { describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { uploadWeight } from '../../src/gpu/ops';
import { dequantize, quantize } from '../../src/quant';
import { gpuTestContext } from './gpu-test-context';
import { randomFloats } from './helpers/reference';

const TYPES = [GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0];

describe.each(TYPES)('embedRows with table type %s', (type) => {
  it.each([undefined, 3])(`returns exactly the CPU-decoded rows (${GgmlType[type]}, max rows per part %s)`, async (rowsPerPart) => {
    const t = await gpuTestContext();
    const rows = 10;
    const cols = 64;
    const bytes = quantize(type, randomFloats(rows * cols, 42 + type));
    const table = dequantize(type, bytes, rows * cols);
    const rowBytes = bytes.byteLength / rows;
    const matrix = await uploadWeight(t.ctx, 'token_embd', type, rows, cols, bytes, t.ctx.allocator, {
      maxPartBytes: rowsPerPart ? rowsPerPart * rowBytes + 4 : undefined,
    });
    expect(matrix.parts.length).toBe(rowsPerPart ? 4 : 1);

    const ids = [9, 0, 3, 3, 7, 5, 1];
    const idBuf = await t.u32(Uint32Array.from(ids));
    const out = await t.act(ids.length * cols);
    t.ops.embedRows(matrix, idBuf, out, ids.length);
    const got = await t.read(out);
    const want = new Float32Array(ids.length * cols);
    ids.forEach((id, i) => want.set(table.subarray(id * cols, (id + 1) * cols), i * cols));
    expect(got).toEqual(want);
  });
});

describe('embedRows in groups of columns (gemma4 per-layer table rows, layer-major)', () => {
  it('puts group g of token t at [g, t, :], across parts', async () => {
    const t = await gpuTestContext();
    const rows = 10;
    const cols = 96;
    const group = 32;
    const bytes = quantize(GgmlType.Q8_0, randomFloats(rows * cols, 7));
    const table = dequantize(GgmlType.Q8_0, bytes, rows * cols);
    const matrix = await uploadWeight(t.ctx, 'per_layer_token_embd', GgmlType.Q8_0, rows, cols, bytes, t.ctx.allocator, { maxPartBytes: 4 * (bytes.byteLength / rows) + 4 });
    expect(matrix.parts.length).toBe(3);
    const ids = [9, 0, 4, 4, 7];
    const out = await t.act(ids.length * cols);
    t.ops.embedRows(matrix, await t.u32(Uint32Array.from(ids)), out, ids.length, group);
    const want = new Float32Array(ids.length * cols);
    for (let g = 0; g < cols / group; g++) {
      ids.forEach((id, i) => want.set(table.subarray(id * cols + g * group, id * cols + (g + 1) * group), (g * ids.length + i) * group));
    }
    expect(await t.read(out)).toEqual(want);
    expect(() => t.ops.embedRows(matrix, out.buffer, out, 1, 40)).toThrow(/multiple of 4 dividing 96/);
  });
});
