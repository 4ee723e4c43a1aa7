// Reusable MAP_READ buffers for reading results back, so a per-token logits
// read allocates nothing once the pool holds a buffer of the right size.

import type { GpuAllocator } from './allocator';

const STAGING_USAGE = 0x01 | 0x08; // GPUBufferUsage.MAP_READ | COPY_DST
const MIN_STAGING_BYTES = 4096;

export class StagingPool {
  private readonly free: GPUBuffer[] = [];

  constructor(private readonly allocator: GpuAllocator) {}

  /** A buffer of at least `bytes`, not in use by another read. */
  take(bytes: number): GPUBuffer {
    const index = this.free.findIndex((b) => b.size >= bytes);
    if (index >= 0) return this.free.splice(index, 1)[0];
    // Powers of two: a few sizes cover every read of a session.
    const size = Math.max(MIN_STAGING_BYTES, 2 ** Math.ceil(Math.log2(bytes)));
    return this.allocator.allocSync('staging', size, STAGING_USAGE, `read staging ${size}`);
  }

  give(buffer: GPUBuffer): void {
    this.free.push(buffer);
  }

  discard(buffer: GPUBuffer): void {
    this.allocator.free(buffer);
  }
}
