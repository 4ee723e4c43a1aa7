// Reading a list of byte ranges in order, the next ones already being read
// while the caller works on the current one (the loader uploads tensor i
// while tensors i+1, ... come off the disk or out of IndexedDB). Ranges that
// follow each other in the source are read together, in reads of up to
// `chunkBytes` (a longer range is one read of its own): a read costs a round
// trip besides its bytes, which a browser's Blob pays through the browser
// process. Reads ahead only while the reads started beyond the current one
// add up to at most `aheadBytes`, so CPU memory holds the current read plus
// that much.

import { ClawError } from '../errors';
import type { ByteSource } from './types';

/**
 * What the loader reads ahead of the tensor it uploads: a few of a 1B
 * model's layer tensors. bench/load.ts compares it with 64 MiB and none
 * (BENCHMARKS.md, "Loading"): 64 MiB was no faster and holds more memory.
 */
export const READ_AHEAD_BYTES = 16 * 2 ** 20;

/**
 * The longest read of neighbouring ranges (tensors stored one after the
 * other). In a Chromium worker a Blob read of 5 MiB moved about 0.9 GB/s and
 * one of 16 MiB 1.0 to 1.3 GB/s; loads with reads of up to 64 MiB were not
 * clearly faster than with 16, and hold more memory (BENCHMARKS.md, "Loading").
 */
export const READ_CHUNK_BYTES = 16 * 2 ** 20;

/** Bytes between two ranges that are still read as one (GGUF pads each tensor to its alignment, 32 bytes by default). */
const MAX_GAP_BYTES = 4096;

function ignore(): void {}

/** One read: the ranges first..last of the list, which lie within it. */
interface Chunk {
  offset: number;
  length: number;
  last: number;
}

/** Ranges that follow each other (in list order, at most MAX_GAP_BYTES apart) grouped into reads of at most `chunkBytes`; a range longer than that alone. */
function groupRanges(ranges: readonly { offset: number; length: number }[], chunkBytes: number): Chunk[] {
  const chunks: Chunk[] = [];
  for (const [i, r] of ranges.entries()) {
    const c = chunks.at(-1);
    const end = c ? c.offset + c.length : 0;
    if (c && r.offset >= end && r.offset - end <= MAX_GAP_BYTES && r.offset + r.length - c.offset <= chunkBytes) {
      c.length = r.offset + r.length - c.offset;
      c.last = i;
    } else {
      chunks.push({ offset: r.offset, length: r.length, last: i });
    }
  }
  return chunks;
}

export class ReadAhead {
  private readonly chunks: Chunk[];
  /** Index of the read that holds each range. */
  private readonly chunkOf: Uint32Array;
  private readonly started = new Map<number, Promise<Uint8Array>>();
  /** The next read not yet started. */
  private next = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly ranges: readonly { offset: number; length: number }[],
    private readonly aheadBytes = READ_AHEAD_BYTES,
    chunkBytes = READ_CHUNK_BYTES,
  ) {
    if (!(aheadBytes >= 0)) throw new ClawError('clw-bad-request', `readAheadBytes must be 0 or more, got ${aheadBytes}`);
    if (!(chunkBytes >= 0)) throw new ClawError('clw-bad-request', `readChunkBytes must be 0 or more, got ${chunkBytes}`);
    this.chunks = groupRanges(ranges, chunkBytes);
    this.chunkOf = new Uint32Array(ranges.length);
    let first = 0;
    for (const [c, chunk] of this.chunks.entries()) {
      this.chunkOf.fill(c, first, chunk.last + 1);
      first = chunk.last + 1;
    }
  }

  /** Reads the source makes for the whole list (tests and stats). */
  get readCount(): number {
    return this.chunks.length;
  }

  /**
   * The bytes of range `i` (taken once, in order), having started the
   * reads after its own that fit in the read-ahead allowance.
   */
  take(i: number): Promise<Uint8Array> {
    const c = this.chunkOf[i];
    if (c >= this.next) this.start(c);
    const read = this.started.get(c)!;
    const chunk = this.chunks[c];
    if (i === chunk.last) this.started.delete(c);
    let ahead = 0;
    for (let j = c + 1; j < this.next; j++) ahead += this.chunks[j].length;
    while (this.next < this.chunks.length && ahead + this.chunks[this.next].length <= this.aheadBytes) {
      ahead += this.chunks[this.next].length;
      this.start(this.next);
    }
    const { offset, length } = this.ranges[i];
    if (offset === chunk.offset && length === chunk.length) return read;
    const from = offset - chunk.offset;
    return read.then((bytes) => bytes.subarray(from, from + length));
  }

  private start(c: number): void {
    for (; this.next <= c; this.next++) {
      const { offset, length } = this.chunks[this.next];
      const read = this.source.read(offset, length);
      // Failures reach the caller through take(); one never taken (the load stopped) is not unhandled.
      read.catch(ignore);
      this.started.set(this.next, read);
    }
  }
}
