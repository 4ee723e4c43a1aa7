// GpuOps over WebGPU: the options, createGpuOps and allocActivations, the
// entry point tests, benchmarks and the engine import. The ops live in
// webgpu-ops.ts, the recording machinery under them in dispatcher.ts.

import { STORAGE_USAGE, type GpuAllocator } from './allocator';
import type { GpuContext } from './device';
import type { MatvecChoiceStore } from './matvec-memory';
import type { MatvecChoice, MatvecTuningCase } from './matvec-tuning';
import type { ActBuffer, Dtype, GpuOps } from './ops-api';
import { WebGpuOps } from './webgpu-ops';

export { uploadWeight, uploadWeightFrom, uploadF32, createWeightUploader, type UploadWeightOptions } from './weights';

/** An f32 activation buffer from the allocator (capacity rounded up to whole vec4s). */
export async function allocActivations(allocator: GpuAllocator, length: number, label: string): Promise<ActBuffer> {
  const buffer = await allocator.alloc('activations', Math.max(16, Math.ceil(length / 4) * 16), STORAGE_USAGE, label);
  return { buffer, length };
}

export interface GpuOpsOptions {
  /**
   * Use the subgroup kernels (matvec, rmsNorm, decode attention) when the
   * device has `subgroups` (default true). false forces the shared-memory
   * kernels every device runs: for tests and before/after benchmarks.
   */
  subgroups?: boolean;
  /**
   * Lanes per row of the subgroup kernels (a power of two up to 64). Default:
   * the adapter's smallest subgroup size. Tests set other values to run the
   * kernels' paths for subgroups holding several rows or part of one.
   */
  subgroupLanes?: number;
  /**
   * Attention of one token (decode) as three barrier-free passes over key
   * chunks (default true); false runs the one-workgroup-per-head kernel that
   * prefill uses.
   */
  splitDecodeAttention?: boolean;
  /**
   * Prefill (n > 1) with matmul_tiled.wgsl (default true): 4 x 4 outputs
   * per thread from vec4 tiles in workgroup memory. false runs the simple
   * 32 x 32 tile kernel (matmul.wgsl), for tests and before/after benchmarks.
   */
  tiledMatmul?: boolean;
  /**
   * Kernel variants of the decode pass: 'gpu' (threads share rows, heads and
   * key chunks through workgroup memory), 'cpu' (barrier-free, a thread per
   * row, head or chunk, few workgroups: for CPU emulations such as
   * SwiftShader), or 'auto' (default: 'cpu' on a CPU emulation).
   */
  decodeVariant?: 'auto' | 'gpu' | 'cpu';
  /** The arithmetic path to start with (default f32; see GpuOps.dtype). */
  dtype?: Dtype;
  /**
   * How the decode pass's matvec spreads rows over threads: fields over
   * MATVEC_TUNING (the default; benchmarks sweep them), for every
   * projection or per projection site (MatvecChoice), or 'auto': at load
   * the pass times each of `matvecCandidates` on the model's own weights
   * and keeps the fastest (src/gpu/matvec-autotune.ts; ModelInfo.matvecTuning
   * says what it chose and measured).
   */
  matvec?: MatvecChoice | 'auto';
  /** The tunings 'auto' times, the first its baseline (default MATVEC_AUTOTUNE_CANDIDATES). */
  matvecCandidates?: readonly MatvecTuningCase[];
  /**
   * Where 'auto' keeps what it chose, so the next load of a model of the
   * same shape on the same adapter and kernels skips the search
   * (src/gpu/matvec-memory.ts): a store, or 'none'. Default: IndexedDB
   * where the runtime has it (a page or worker), else none (the CLI passes
   * a file: --matvec-cache).
   */
  matvecStore?: MatvecChoiceStore | 'none';
  /** With a store: search at this load even where a choice is stored (a first measurement may have been disturbed), and store the new one. */
  matvecRemeasure?: boolean;
}

/** GpuOps, plus which kernel family it picked (tests and benchmarks check it). */
export type WebGpuOpsHandle = GpuOps & {
  readonly subgroups: boolean;
  /** The lattice grid table (quant-tables.ts), for kernels dispatched by hand (tests, benchmarks) at GRID_TABLE_BINDING. */
  gridTable(): GPUBuffer;
};

export function createGpuOps(ctx: GpuContext, allocator: GpuAllocator = ctx.allocator, options: GpuOpsOptions = {}): WebGpuOpsHandle {
  return new WebGpuOps(ctx, allocator, options);
}

