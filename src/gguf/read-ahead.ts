// Reading a list of byte ranges in order, the next ones already being read
// while the caller works on the current one (the loader uploads tensor i
// while tensors i+1, ... come off the disk or out of IndexedDB). Reads
// ahead only while the ranges started beyond the current one add up to at
// most `aheadBytes`, so CPU memory holds the current range plus that much.

import { ClawError } from '../errors';
import type { ByteSource } from './types';

/**
 * What the loader reads ahead of the tensor it uploads: a few of a 1B
 * model's layer tensors. bench/load.ts compares it with 64 MiB and none
 * (BENCHMARKS.md, "Loading"): 64 MiB was no faster and holds more memory.
 */
export const READ_AHEAD_BYTES = 16 * 2 ** 20;

function ignore(): void {}

export class ReadAhead {
  private readonly started = new Map<number, Promise<Uint8Array>>();
  /** The next range not yet started. */
  private next = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly ranges: readonly { offset: number; length: number }[],
    private readonly aheadBytes = READ_AHEAD_BYTES,
  ) {
    if (!(aheadBytes >= 0)) throw new ClawError('clw-bad-request', `readAheadBytes must be 0 or more, got ${aheadBytes}`);
  }

  /**
   * The bytes of range `i` (taken once, in order), having started the
   * ranges after it that fit in the read-ahead allowance.
   */
  take(i: number): Promise<Uint8Array> {
    if (i >= this.next) this.start(i);
    const bytes = this.started.get(i)!;
    this.started.delete(i);
    let ahead = 0;
    for (let j = i + 1; j < this.next; j++) ahead += this.ranges[j].length;
    while (this.next < this.ranges.length && ahead + this.ranges[this.next].length <= this.aheadBytes) {
      ahead += this.ranges[this.next].length;
      this.start(this.next);
    }
    return bytes;
  }

  private start(i: number): void {
    for (; this.next <= i; this.next++) {
      const { offset, length } = this.ranges[this.next];
      const read = this.source.read(offset, length);
      // Failures reach the caller through take(); one never taken (the load stopped) is not unhandled.
      read.catch(ignore);
      this.started.set(this.next, read);
    }
  }
}
