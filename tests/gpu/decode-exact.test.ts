// Every GPU decode piece against the CPU reference (src/quant, itself
// bit-exact against libggml), BIT FOR BIT: random bytes as blocks, extreme
// and subnormal f16 scales, signed-zero scales, all-zero blocks. Decoding
// runs through the embedding-row kernel, which stores decode4's result
// unchanged, over a table split into several parts.

import { describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { uploadWeight } from '../../src/gpu/ops';
import { dequantize } from '../../src/quant';
import { gpuTestContext } from './gpu-test-context';
import { DECODE_TYPES, randomBlocks } from './helpers/random-blocks';

/** Index and bits of the first element whose f32 bits differ, or undefined. */
function firstBitMismatch(got: Float32Array, want: Float32Array): { index: number; got: string; want: string } | undefined {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  if (g.length !== w.length) return { index: -1, got: `length ${g.length}`, want: `length ${w.length}` };
  for (let i = 0; i < w.length; i++) {
    if (g[i] !== w[i]) return { index: i, got: `${got[i]} (0x${g[i].toString(16)})`, want: `${want[i]} (0x${w[i].toString(16)})` };
  }
  return undefined;
}

async function decodeOnGpu(type: GgmlType, bytes: Uint8Array, rows: number, cols: number, rowsPerPart?: number): Promise<{ got: Float32Array; parts: number }> {
  const t = await gpuTestContext();
  const rowBytes = bytes.byteLength / rows;
  const table = await uploadWeight(t.ctx, 'table', type, rows, cols, bytes, t.ctx.allocator, {
    maxPartBytes: rowsPerPart ? rowsPerPart * rowBytes + 4 : undefined,
  });
  // Rows in a scrambled order (and one twice), so row addressing is checked too.
  const ids = Array.from({ length: rows }, (_, i) => (i * 5 + 3) % rows);
  ids.push(ids[0]);
  const idBuf = await t.u32(Uint32Array.from(ids));
  const out = await t.act(ids.length * cols);
  t.ops.begin();
  t.ops.embedRows(table, idBuf, out, ids.length);
  const decoded = await t.read(out, 0, ids.length * cols);
  // Undo the scramble: row ids[i] is at i.
  const got = new Float32Array(rows * cols);
  ids.slice(0, rows).forEach((id, i) => got.set(decoded.subarray(i * cols, (i + 1) * cols), id * cols));
  const duplicate = decoded.subarray(rows * cols, (rows + 1) * cols);
  expect(firstBitMismatch(duplicate, got.slice(ids[0] * cols, (ids[0] + 1) * cols))).toBeUndefined();
  for (const p of table.parts) t.ctx.allocator.free(p.buffer);
  t.ctx.allocator.free(idBuf);
  t.ctx.allocator.free(out.buffer);
  return { got, parts: table.parts.length };
}

describe.each(DECODE_TYPES.map((type) => ({ type, name: GgmlType[type] })))('GPU decoding of $name', ({ type, name }) => {
  const info = GGML_TYPES.get(type)!;

  it(`decodes random blocks with extreme, subnormal and signed-zero scales bit for bit like the CPU reference (${name})`, async () => {
    const cols = 512;
    const rows = 12;
    const bytes = randomBlocks(type, (rows * cols) / info.blockSize, 1000 + type);
    const want = dequantize(type, bytes, rows * cols);
    const { got, parts } = await decodeOnGpu(type, bytes, rows, cols, 5);
    expect(parts).toBe(3);
    expect(firstBitMismatch(got, want)).toBeUndefined();
  });

  it(`decodes all-zero blocks to +0 (${name})`, async () => {
    const cols = 256;
    const bytes = new Uint8Array((2 * cols * info.blockBytes) / info.blockSize);
    const { got } = await decodeOnGpu(type, bytes, 2, cols);
    expect(firstBitMismatch(got, dequantize(type, bytes, 2 * cols))).toBeUndefined();
  });
});
