// One WebGPU device per test file, with helpers to put f32 data on it and
// read it back: Dawn in Node (SwiftShader in CI, see tests/setup-env.ts), or
// wgpu when the tests run under Deno (scripts/test-wgpu.sh, lavapipe in CI).

import { afterAll, afterEach, expect } from 'vitest';
import { createGpuContext, type GpuContext } from '../../src/gpu/device';
import { getRuntimeGpu } from '../../src/gpu/gpu-node';
import { allocActivations, createGpuOps, type WebGpuOpsHandle } from '../../src/gpu/ops';
import type { ActBuffer } from '../../src/gpu/ops-api';

export interface GpuTestContext {
  ctx: GpuContext;
  ops: WebGpuOpsHandle;
  /** An activation buffer holding `values` (or `length` zeros). */
  act(values: Float32Array | number): Promise<ActBuffer>;
  /** A u32 storage buffer (token ids). */
  u32(values: Uint32Array): Promise<GPUBuffer>;
  /** An f32 storage buffer of raw values (KV caches, norm weights). */
  f32(values: Float32Array): Promise<GPUBuffer>;
  read(buf: ActBuffer, offset?: number, count?: number): Promise<Float32Array>;
}

let shared: Promise<GpuTestContext> | undefined;

export function gpuTestContext(): Promise<GpuTestContext> {
  shared ??= create();
  return shared;
}

// A WGSL or validation error never throws in WebGPU; it only shows up here.
afterEach(async () => {
  if (!shared) return;
  const t = await shared;
  await t.ctx.device.queue.onSubmittedWorkDone();
  expect(t.ctx.takeUncapturedErrors()).toEqual([]);
});

afterAll(async () => {
  if (!shared) return;
  const t = await shared;
  t.ctx.allocator.freeAll();
  t.ctx.destroy();
  shared = undefined;
});

const STORAGE = 0x80 | 0x08 | 0x04;

async function create(): Promise<GpuTestContext> {
  const ctx = await createGpuContext(getRuntimeGpu());
  const ops = createGpuOps(ctx);
  const storage = async (bytes: ArrayBufferView, label: string) => {
    const buffer = await ctx.allocator.alloc('activations', Math.max(16, bytes.byteLength), STORAGE, label);
    if (bytes.byteLength > 0) ctx.device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return buffer;
  };
  return {
    ctx,
    ops,
    async act(values) {
      const length = typeof values === 'number' ? values : values.length;
      const buf = await allocActivations(ctx.allocator, length, 'test act');
      if (typeof values !== 'number') ctx.device.queue.writeBuffer(buf.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
      return buf;
    },
    u32: (values) => storage(values, 'test u32'),
    f32: (values) => storage(values, 'test f32'),
    read: (buf, offset = 0, count = buf.length - offset) => ops.read(buf, offset, count),
  };
}
