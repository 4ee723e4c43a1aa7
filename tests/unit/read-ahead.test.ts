// The loader's read-ahead (src/gguf/read-ahead.ts): ranges come back whole
// and in order, the next ones are being read while one is used, never more
// than the allowance beyond it, and a failed read reaches only its takers;
// ranges that follow each other in the source share a read up to the chunk
// size.

import { describe, expect, it } from 'vitest';
import { ReadAhead } from '../../src/gguf/read-ahead';
import type { ByteSource } from '../../src/gguf/types';

/** A source whose reads finish when the test says; it logs when each began. */
function slowSource(bytes: Uint8Array, fail: Set<number> = new Set()) {
  const pending: { offset: number; finish: () => void }[] = [];
  const begun: number[] = [];
  const source: ByteSource = {
    size: bytes.length,
    name: 'slow',
    read: (offset, length) =>
      new Promise((resolve, reject) => {
        begun.push(offset);
        pending.push({ offset, finish: () => (fail.has(offset) ? reject(new Error(`bad sector at ${offset}`)) : resolve(bytes.slice(offset, offset + length))) });
      }),
  };
  const finishAll = () => pending.splice(0).forEach((p) => p.finish());
  return { source, begun, finishAll };
}

const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
// Ranges of 10, 30, 5, 5, 40 and 10 bytes.
const ranges = [0, 10, 40, 45, 50, 90].map((offset, i, all) => ({ offset, length: (all[i + 1] ?? 100) - offset }));

describe('ReadAhead', () => {
  it('reads ahead up to the allowance, and returns each range whole, in order', async () => {
    const { source, begun, finishAll } = slowSource(bytes);
    const reads = new ReadAhead(source, ranges, 40, 0);
    const first = reads.take(0);
    // Range 0, then 1 (30) and 2 (5) and 3 (5): 40 bytes beyond range 0; range 4 (40) would pass the allowance.
    expect(begun).toEqual([0, 10, 40, 45]);
    finishAll();
    expect([...(await first)]).toEqual([...bytes.slice(0, 10)]);
    const second = reads.take(1);
    // Beyond range 1: ranges 2 and 3 (10 bytes), so range 4 (40) does not fit yet.
    expect(begun).toEqual([0, 10, 40, 45]);
    expect([...(await second)]).toEqual([...bytes.slice(10, 40)]);
    await reads.take(2);
    await reads.take(3);
    // Beyond range 3 nothing is read: range 4 (40) fits now, and 4 + 5 (50) does not.
    expect(begun).toEqual([0, 10, 40, 45, 50]);
    finishAll();
    expect((await reads.take(4)).length).toBe(40);
    expect(begun).toEqual([0, 10, 40, 45, 50, 90]);
    finishAll();
    expect([...(await reads.take(5))]).toEqual([...bytes.slice(90)]);
  });

  it('with no allowance reads each range only when it is taken', async () => {
    const { source, begun, finishAll } = slowSource(bytes);
    const reads = new ReadAhead(source, ranges, 0, 0);
    const got: number[] = [];
    for (let i = 0; i < ranges.length; i++) {
      const r = reads.take(i);
      expect(begun).toHaveLength(i + 1);
      finishAll();
      got.push(...(await r));
    }
    expect(got).toEqual([...bytes]);
    expect(() => new ReadAhead(source, ranges, -1)).toThrow(/readAheadBytes must be 0 or more/);
    expect(() => new ReadAhead(source, ranges, 0, -1)).toThrow(/readChunkBytes must be 0 or more/);
  });

  it('gives a failed read to the one who takes it; one never taken is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { source, finishAll } = slowSource(bytes, new Set([10, 45]));
      const reads = new ReadAhead(source, ranges, 100, 0);
      const first = reads.take(0);
      finishAll();
      await first;
      // Range 1 failed: its taker sees the error. Range 3 also failed, and the load stopped before taking it.
      await expect(reads.take(1)).rejects.toThrow('bad sector at 10');
      await new Promise((r) => setTimeout(r, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('reads neighbouring ranges together, up to the chunk size; a longer range alone', async () => {
    const { source, begun, finishAll } = slowSource(bytes);
    // Chunks of at most 40 bytes: [0, 10) + [10, 40); [40, 45) + [45, 50); [50, 90) alone (40); [90, 100).
    const reads = new ReadAhead(source, ranges, 0, 40);
    expect(reads.readCount).toBe(4);
    const got: number[][] = [];
    for (let i = 0; i < ranges.length; i++) {
      const r = reads.take(i);
      finishAll();
      got.push([...(await r)]);
    }
    expect(begun).toEqual([0, 40, 50, 90]);
    expect(got).toEqual(ranges.map((r) => [...bytes.slice(r.offset, r.offset + r.length)]));
    // A range longer than the chunk size is one read of its own.
    expect(new ReadAhead(source, ranges, 0, 20).readCount).toBe(5);
    expect(new ReadAhead(source, ranges, 0, 1000).readCount).toBe(1);
  });

  it('joins only ranges that follow each other in list order, across at most a small gap', () => {
    const { source } = slowSource(new Uint8Array(20_000));
    // Alignment padding between tensors is read along; a gap of more than 4096 bytes, or a range before the previous one, starts a new read.
    expect(new ReadAhead(source, [{ offset: 0, length: 10 }, { offset: 32, length: 10 }, { offset: 4138, length: 10 }], 0, 1 << 20).readCount).toBe(1);
    expect(new ReadAhead(source, [{ offset: 0, length: 10 }, { offset: 4107, length: 10 }], 0, 1 << 20).readCount).toBe(2);
    expect(new ReadAhead(source, [{ offset: 100, length: 10 }, { offset: 0, length: 10 }], 0, 1 << 20).readCount).toBe(2);
  });

  it('counts the allowance in reads: the next read starts when it fits beyond the current one', async () => {
    const { source, begun, finishAll } = slowSource(bytes);
    // Reads [0, 40), [40, 50), [50, 90), [90, 100) with chunks of 40; 10 bytes may be read ahead.
    const reads = new ReadAhead(source, ranges, 10, 40);
    const first = reads.take(0);
    // Beyond the read of range 0: [40, 50) fits the allowance, [50, 90) does not.
    expect(begun).toEqual([0, 40]);
    finishAll();
    await first;
    await reads.take(1);
    expect(begun).toEqual([0, 40]);
    await reads.take(2);
    expect(begun).toEqual([0, 40]);
    const fourth = reads.take(3);
    finishAll();
    expect([...(await fourth)]).toEqual([...bytes.slice(45, 50)]);
    // Taking [50, 90) starts it and, 10 bytes beyond it, [90, 100).
    const fifth = reads.take(4);
    expect(begun).toEqual([0, 40, 50, 90]);
    finishAll();
    expect((await fifth).length).toBe(40);
  });

  it('gives a failed shared read to each range of it', async () => {
    const { source, finishAll } = slowSource(bytes, new Set([40]));
    const reads = new ReadAhead(source, ranges, 0, 40);
    const first = reads.take(0);
    finishAll();
    await first;
    await reads.take(1);
    const third = reads.take(2);
    finishAll();
    await expect(third).rejects.toThrow('bad sector at 40');
    await expect(reads.take(3)).rejects.toThrow('bad sector at 40');
  });
});
