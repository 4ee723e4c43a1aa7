// The loader's read-ahead (src/gguf/read-ahead.ts): ranges come back whole
// and in order, the next ones are being read while one is used, never more
// than the allowance beyond it, and a failed read reaches only its taker.

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
    const reads = new ReadAhead(source, ranges, 40);
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
    const reads = new ReadAhead(source, ranges, 0);
    const got: number[] = [];
    for (let i = 0; i < ranges.length; i++) {
      const r = reads.take(i);
      expect(begun).toHaveLength(i + 1);
      finishAll();
      got.push(...(await r));
    }
    expect(got).toEqual([...bytes]);
    expect(() => new ReadAhead(source, ranges, -1)).toThrow(/readAheadBytes must be 0 or more/);
  });

  it('gives a failed read to the one who takes it; one never taken is not an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { source, finishAll } = slowSource(bytes, new Set([10, 45]));
      const reads = new ReadAhead(source, ranges, 100);
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
});
