// The buffer allocator: accounting by purpose, peaks, budget refusal,
// injected failures, and weight uploads that cost what the file says.

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { GgmlType } from '../../src/gguf/types';
import { GpuAllocator } from '../../src/gpu/allocator';
import { uploadWeight, uploadWeightFrom } from '../../src/gpu/ops';
import { dequantize, quantize } from '../../src/quant';
import { gpuTestContext } from './gpu-test-context';
import { randomFloats } from './helpers/reference';

const STORAGE = 0x80 | 0x08;

async function freshAllocator(): Promise<GpuAllocator> {
  const t = await gpuTestContext();
  return new GpuAllocator(t.ctx.device, t.ctx.limits);
}

async function expectClawError(p: Promise<unknown>, code: string): Promise<ClawError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ClawError);
  expect((e as ClawError).code).toBe(code);
  return e as ClawError;
}

describe('GpuAllocator', () => {
  it('counts live and peak bytes per purpose, and free returns them', async () => {
    const a = await freshAllocator();
    const w = await a.alloc('weights', 1000, STORAGE, 'w');
    const kv = await a.alloc('kv', 2048, STORAGE, 'kv');
    const s = a.allocSync('activations', 6, STORAGE, 'act'); // rounded up to 8
    expect(a.liveBytes()).toBe(1000 + 2048 + 8);
    expect(a.liveBytesByPurpose()).toEqual({ weights: 1000, kv: 2048, activations: 8, staging: 0, uniforms: 0 });
    a.free(kv);
    expect(a.liveBytes()).toBe(1008);
    expect(a.peakBytes).toBe(3056);
    expect(a.peakBytesByPurpose().kv).toBe(2048);
    expect(a.liveBytesByPurpose().kv).toBe(0);
    a.free(w);
    a.free(s);
    a.free(s); // freeing twice is harmless
    expect(a.liveBytes()).toBe(0);
  });

  it('refuses up front when the budget would be exceeded, naming purpose, size and label', async () => {
    const a = await freshAllocator();
    a.budgetBytes = 4096;
    await a.alloc('weights', 4000, STORAGE, 'first');
    const e = await expectClawError(a.alloc('kv', 100, STORAGE, 'k cache 0'), 'clw-gpu-oom');
    expect(e.details).toMatchObject({ purpose: 'kv', size: 100, label: 'k cache 0' });
    expect(() => a.allocSync('staging', 100, STORAGE, 'staging')).toThrow(expect.objectContaining({ code: 'clw-gpu-oom' }));
    expect(a.liveBytes()).toBe(4000);
    a.freeAll();
  });

  it('turns an injected failure into clw-gpu-oom and leaves the accounting untouched', async () => {
    const a = await freshAllocator();
    const seen: number[] = [];
    a.injectFailure((purpose, size, label, index) => {
      seen.push(index);
      return purpose === 'kv' && label.endsWith('1');
    });
    await a.alloc('kv', 64, STORAGE, 'k cache 0');
    await expectClawError(a.alloc('kv', 64, STORAGE, 'k cache 1'), 'clw-gpu-oom');
    expect(a.liveBytes()).toBe(64);
    expect(seen).toEqual([0, 1]);
    a.injectFailure(undefined);
    await a.alloc('kv', 64, STORAGE, 'k cache 1');
    a.freeAll();
  });

  it('reports a buffer larger than the device allows as clw-gpu-oom', async () => {
    const t = await gpuTestContext();
    const a = await freshAllocator();
    await expectClawError(a.alloc('weights', t.ctx.limits.maxBufferSize + 4, STORAGE, 'huge'), 'clw-gpu-oom');
    expect(a.liveBytes()).toBe(0);
  });

  it('rejects nonsensical sizes as clw-bad-request', async () => {
    const a = await freshAllocator();
    await expectClawError(a.alloc('weights', -1, STORAGE, 'negative'), 'clw-bad-request');
    await expectClawError(a.alloc('weights', NaN, STORAGE, 'nan'), 'clw-bad-request');
  });

  it('allocFilled fills a buffer at once and hears the GPU at settle(): a refused one is freed there and thrown as alloc would', async () => {
    const t = await gpuTestContext();
    const a = new GpuAllocator(t.ctx.device, t.ctx.limits);
    const values = Float32Array.from([1, 2, 3, 4]);
    const write = (b: GPUBuffer) => t.ctx.device.queue.writeBuffer(b, 0, values);
    const good = a.allocFilled('weights', 16, STORAGE | 0x04, 'good', write);
    expect(a.unsettled).toBe(1);
    // MAP_READ beside STORAGE is no valid usage: only the error scope says the GPU refused it (and the write into it).
    a.allocFilled('weights', 32, 0x01 | 0x80, 'refused', write);
    a.allocFilled('kv', 8, STORAGE, 'after', (b) => t.ctx.device.queue.writeBuffer(b, 0, values, 0, 2));
    expect(a.liveBytes()).toBe(56);
    const e = await expectClawError(a.settle(), 'clw-gpu-oom');
    // As alloc says it: the label, who refused, and the bytes live before it.
    expect(e.details).toMatchObject({ purpose: 'weights', size: 32, label: 'refused', refusedBy: 'limit', liveBytes: 16 });
    expect(a.liveBytes()).toBe(24);
    expect(a.unsettled).toBe(0);
    await a.settle();
    expect([...(await t.read({ buffer: good, length: 4 }))]).toEqual([1, 2, 3, 4]);
    // A fill that throws: the buffer is not kept, and the scopes are balanced.
    expect(() => a.allocFilled('weights', 16, STORAGE, 'throws', () => { throw new Error('no bytes'); })).toThrow('no bytes');
    expect(a.liveBytes()).toBe(24);
    expect(a.unsettled).toBe(0);
    // The budget still refuses up front.
    a.budgetBytes = 64;
    expect(() => a.allocFilled('weights', 64, STORAGE, 'big', write)).toThrow(/over the VRAM budget/);
    a.freeAll();
  });

  it('freeAll brings live bytes back to 0', async () => {
    const a = await freshAllocator();
    for (let i = 0; i < 5; i++) await a.alloc('activations', 256 * (i + 1), STORAGE, `act ${i}`);
    a.allocSync('uniforms', 512, 0x40 | 0x08, 'uniforms');
    a.freeAll();
    expect(a.liveBytes()).toBe(0);
    expect(Object.values(a.liveBytesByPurpose()).every((v) => v === 0)).toBe(true);
    expect(a.peakBytes).toBe(256 * 15 + 512);
  });
});

describe('uploadWeight', () => {
  it.each([GgmlType.F32, GgmlType.F16, GgmlType.Q8_0, GgmlType.Q4_0])(
    'keeps GPU bytes equal to the tensor bytes rounded to a word (type %s, split or not)',
    async (type) => {
      const t = await gpuTestContext();
      const rows = 7;
      const cols = 32;
      const bytes = quantize(type, randomFloats(rows * cols, 5));
      for (const maxPartBytes of [undefined, (bytes.byteLength / rows) * 2 + 4]) {
        const a = new GpuAllocator(t.ctx.device, t.ctx.limits);
        const m = await uploadWeight(t.ctx, 'w', type, rows, cols, bytes, a, { maxPartBytes });
        const rowBytes = bytes.byteLength / rows;
        const expected = m.parts.reduce((sum, p) => sum + Math.ceil((p.rowCount * rowBytes) / 4) * 4, 0);
        expect(a.liveBytesByPurpose().weights).toBe(expected);
        expect(a.liveBytesByPurpose().weights / bytes.byteLength).toBeLessThan(1.05);
        expect(m.parts.map((p) => [p.firstRow, p.rowCount])).toEqual(maxPartBytes ? [[0, 2], [2, 2], [4, 2], [6, 1]] : [[0, 7]]);
        a.freeAll();
      }
    },
  );

  it('uploads from a reader in chunks of whole words, never reading more than a chunk at a time (uploadWeightFrom)', async () => {
    const t = await gpuTestContext();
    // Q4_0 rows of 32 are 18 bytes: chunks must be whole multiples of 4 rows to start at a word.
    const rows = 23;
    const cols = 32;
    const bytes = quantize(GgmlType.Q4_0, randomFloats(rows * cols, 9));
    const rowBytes = bytes.byteLength / rows;
    const reads: [number, number][] = [];
    const read = async (offset: number, length: number) => {
      reads.push([offset, length]);
      return bytes.subarray(offset, offset + length);
    };
    const a = new GpuAllocator(t.ctx.device, t.ctx.limits);
    const done: number[] = [];
    // Parts of 10 rows, chunks of 4 rows (72 bytes: under 100, rounded down to a multiple of 4 rows).
    const m = await uploadWeightFrom(t.ctx, 'w', GgmlType.Q4_0, rows, cols, read, a, { maxPartBytes: 10 * rowBytes + 4, chunkBytes: 100, onBytes: (n) => done.push(n) });
    expect(m.parts.map((p) => [p.firstRow, p.rowCount])).toEqual([[0, 10], [10, 10], [20, 3]]);
    expect(reads.map(([o, n]) => [o / rowBytes, n / rowBytes])).toEqual([[0, 4], [4, 4], [8, 2], [10, 4], [14, 4], [18, 2], [20, 3]]);
    expect(done.at(-1)).toBe(bytes.byteLength);
    // What the GPU holds decodes to the file's rows, every one of them (weights cannot be read back as bytes).
    const ids = Uint32Array.from({ length: rows }, (_, i) => rows - 1 - i);
    const out = await t.act(rows * cols);
    t.ops.embedRows(m, await t.u32(ids), out, rows);
    const table = dequantize(GgmlType.Q4_0, bytes, rows * cols);
    const want = new Float32Array(rows * cols);
    ids.forEach((id, i) => want.set(table.subarray(id * cols, (id + 1) * cols), i * cols));
    expect(await t.read(out)).toEqual(want);
    a.freeAll();
  });

  it('refuses a type without a GPU decoder as clw-quant-unsupported', async () => {
    const t = await gpuTestContext();
    await expectClawError(uploadWeight(t.ctx, 'w', GgmlType.I64, 2, 32, new Uint8Array(512), t.ctx.allocator), 'clw-quant-unsupported');
  });

  it('refuses bytes shorter than the shape as clw-model-invalid and allocates nothing', async () => {
    const t = await gpuTestContext();
    const a = new GpuAllocator(t.ctx.device, t.ctx.limits);
    await expectClawError(uploadWeight(t.ctx, 'w', GgmlType.Q8_0, 4, 64, new Uint8Array(4 * 68 - 1), a), 'clw-model-invalid');
    expect(a.liveBytes()).toBe(0);
  });

  it('frees the parts already uploaded when a later part fails', async () => {
    const t = await gpuTestContext();
    const a = new GpuAllocator(t.ctx.device, t.ctx.limits);
    a.injectFailure((_p, _s, _l, index) => index === 2);
    const bytes = quantize(GgmlType.F32, randomFloats(8 * 4, 1));
    await expectClawError(uploadWeight(t.ctx, 'w', GgmlType.F32, 8, 4, bytes, a, { maxPartBytes: 36 }), 'clw-gpu-oom');
    expect(a.liveBytes()).toBe(0);
  });
});
