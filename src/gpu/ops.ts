// GpuOps over WebGPU: each call assembles (once) its kernel, fills a uniform
// slot, binds its buffers and records a dispatch into the current encoder.
// Kernels that write a buffer they also read run in place, because WebGPU
// forbids binding one buffer twice when one binding is writable; when the
// output is a third buffer the input is copied there first.

import { ClawError, toClawError } from '../errors';
import type { GgmlType } from '../gguf/types';
import { STORAGE_USAGE, type GpuAllocator } from './allocator';
import type { GpuContext } from './device';
import {
  ATTENTION_DECODE_CHUNK,
  ATTENTION_DECODE_WG,
  ATTENTION_WG,
  ELEMENTWISE_WG,
  KERNELS,
  MATMUL_TILE,
  MATMUL_TILED,
  MATVEC_ROWS,
  MATVEC_SUBGROUP_RT,
  MATVEC_SUBGROUP_WG,
  MATVEC_WG,
  ROW_WG,
  type KernelName,
} from './kernels';
import { kvBytesPerElement, type ActBuffer, type AttentionParams, type DecodeRecording, type DeltaNetParams, type Dtype, type GpuOps, type KvType, type RopeParams, type SsmConvParams, type WeightMatrix } from './ops-api';
import { DecodeRecorder, type DecodeKernelVariant } from './decode-ops';
import { resolveMatvecTuning, type MatvecTuning } from './matvec-tuning';
import { GRID_TABLE_BINDING, GRID_TABLE_WORDS } from './quant-tables';
import { assembleKernel, PipelineCache, usesGridTable, type ShaderDefines } from './shaders';
import { StagingPool } from './staging';
import { ropeAngleFields, UniformRing, type ParamField } from './uniforms';
import { weightRowBytes } from './weights';

export { uploadWeight, uploadF32, createWeightUploader, type UploadWeightOptions } from './weights';


const u32 = (v: number): ParamField => ({ u32: v });
const f32 = (v: number): ParamField => ({ f32: v });

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
  /** How the decode pass's matvec spreads rows over threads (default MATVEC_TUNING; benchmarks sweep it). */
  matvec?: Partial<MatvecTuning>;
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

/** The adapter's smallest subgroup size where it says (Dawn, Chrome 134+), else a common one; a power of two. */
function minSubgroupSize(ctx: GpuContext): number {
  const size = ctx.adapter.info?.subgroupMinSize;
  return typeof size === 'number' && size >= 1 ? 2 ** Math.floor(Math.log2(size)) : 32;
}

class WebGpuOps implements GpuOps {
  readonly device: GPUDevice;
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformRing;
  private readonly staging: StagingPool;
  /** Bound where a kernel's optional input (bias, norm weight, freq factors) is absent. */
  private readonly placeholder: GPUBuffer;
  /** The lattice grids of the IQ1/IQ2/IQ3 types (9 KiB), bound by every kernel that decodes one. */
  private readonly gridTableBuffer: GPUBuffer;
  private readonly maxGroupsPerDim: number;
  private readonly maxStorageBuffers: number;
  /** The decode pass uses its CPU-emulation kernel variants. */
  private readonly cpuEmulated: boolean;
  /** Pipelines by (kernel, weight type, defines), so the hot path skips assembling text. */
  private readonly pipelineByVariant = new Map<string, GPUComputePipeline>();
  private encoder: GPUCommandEncoder | null = null;
  /** While precompile() records: the kernels asked for, nothing encoded or allocated. */
  private collecting: Map<string, [KernelName, KernelVariant]> | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private lostError: ClawError | undefined;
  readonly whenLost: Promise<ClawError>;
  /** Whether the subgroup kernels run (device feature and option). */
  readonly subgroups: boolean;
  private readonly splitDecodeAttention: boolean;
  private readonly tiledMatmul: boolean;
  private readonly hasF16: boolean;
  private arithmetic: Dtype = 'f32';
  /** Scores and per-chunk partials of split decode attention; grows, never shrinks. */
  private decodeScratch: GPUBuffer | null = null;
  /** Outgrown scratch buffers still used by recorded work: freed after the next submit. */
  private readonly retired: GPUBuffer[] = [];
  /** Lanes per row of the subgroup kernels: the adapter's smallest subgroup size, at most one workgroup. */
  private readonly subgroupLanes: number;
  private readonly matvecTuning: Readonly<MatvecTuning>;

  constructor(
    ctx: GpuContext,
    private readonly allocator: GpuAllocator,
    options: GpuOpsOptions,
  ) {
    this.device = ctx.device;
    this.pipelines = new PipelineCache(ctx.device);
    this.uniforms = new UniformRing(ctx.device, allocator);
    this.staging = new StagingPool(allocator);
    this.placeholder = allocator.allocSync('activations', 16, STORAGE_USAGE, 'placeholder input');
    this.gridTableBuffer = allocator.allocSync('activations', GRID_TABLE_WORDS.byteLength, STORAGE_USAGE, 'iq grid table');
    ctx.device.queue.writeBuffer(this.gridTableBuffer, 0, GRID_TABLE_WORDS);
    this.maxGroupsPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    this.maxStorageBuffers = ctx.limits.maxStorageBuffersPerShaderStage;
    this.cpuEmulated = options.decodeVariant === 'cpu' || (options.decodeVariant !== 'gpu' && ctx.cpuEmulated);
    this.subgroups = ctx.features.subgroups && options.subgroups !== false;
    this.splitDecodeAttention = options.splitDecodeAttention !== false;
    this.tiledMatmul = options.tiledMatmul !== false;
    this.hasF16 = ctx.features.f16;
    this.dtype = options.dtype ?? 'f32';
    this.subgroupLanes = Math.min(MATVEC_SUBGROUP_WG, options.subgroupLanes ?? minSubgroupSize(ctx));
    if (!Number.isInteger(Math.log2(this.subgroupLanes))) throw badRequest(`subgroupLanes ${this.subgroupLanes} is not a power of two`);
    this.matvecTuning = resolveMatvecTuning(options.matvec, ctx.limits);
    this.whenLost = ctx.lost;
    void ctx.lost.then((e) => (this.lostError = e));
  }

  get dtype(): Dtype {
    return this.arithmetic;
  }

  gridTable(): GPUBuffer {
    return this.gridTableBuffer;
  }

  /** The grid table's bind group entry, for a kernel that decodes a lattice type. */
  private gridTableEntries(opts: KernelVariant): GPUBindGroupEntry[] {
    return usesGridTable(opts) ? [{ binding: GRID_TABLE_BINDING, resource: { buffer: this.gridTable() } }] : [];
  }

  set dtype(dtype: Dtype) {
    if (dtype === 'f16' && !this.hasF16) {
      throw new ClawError('clw-feature-missing', 'the f16 arithmetic path needs shader-f16, which this GPU lacks', {
        fix: 'Use dtype "f32" or "auto".',
        details: { feature: 'shader-f16' },
      });
    }
    this.arithmetic = dtype;
  }

  begin(): void {
    this.encoder ??= this.device.createCommandEncoder({ label: 'webclaw ops' });
  }

  submit(): void {
    if (!this.encoder) return;
    this.endPass();
    this.uniforms.flush();
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    // destroy() after submit waits for the submitted work (WebGPU semantics).
    for (const buffer of this.retired.splice(0)) this.allocator.free(buffer);
  }

  embedRows(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer, n: number): void {
    requireCapacity(out, n * table.cols, 'embedRows out');
    const rowBytes = weightRowBytes(table.type, table.cols);
    const threads = (n * table.cols) / 4;
    for (const part of table.parts) {
      this.dispatch(
        'embedRows',
        { weightType: table.type, defines: { WG: ELEMENTWISE_WG } },
        [u32(part.rowCount), u32(table.cols), u32(rowBytes), u32(part.firstRow), u32(n)],
        [part.buffer, ids, out.buffer],
        this.grid(Math.ceil(threads / ELEMENTWISE_WG)),
      );
    }
  }

  rmsNorm(x: ActBuffer, weight: GPUBuffer | null, out: ActBuffer, nRows: number, dim: number, eps: number): void {
    requireCapacity(x, nRows * dim, 'rmsNorm x');
    requireCapacity(out, nRows * dim, 'rmsNorm out');
    if (weight === out.buffer) throw badRequest('rmsNorm: the weight must not be the output buffer');
    if (out.buffer !== x.buffer) this.copy(x, 0, out, 0, nRows * dim);
    const [kernel, defines]: [KernelName, ShaderDefines] = this.subgroups
      ? ['rmsNormSubgroup', { LANES: this.subgroupLanes }]
      : ['rmsNorm', { WG: ROW_WG }];
    this.dispatch(kernel, { defines }, [u32(dim), f32(eps), u32(weight ? 1 : 0)], [out.buffer, weight ?? this.placeholder], [nRows, 1]);
  }

  matmul(w: WeightMatrix, x: ActBuffer, out: ActBuffer, n: number, bias?: GPUBuffer): void {
    requireCapacity(x, n * w.cols, `matmul ${w.name} x`);
    requireCapacity(out, n * w.rows, `matmul ${w.name} out`);
    if (x.buffer === out.buffer || bias === out.buffer) throw badRequest(`matmul ${w.name}: the output must be a separate buffer`);
    const rowBytes = weightRowBytes(w.type, w.cols);
    for (const part of w.parts) {
      const common = [u32(part.rowCount), u32(w.cols), u32(rowBytes), u32(part.firstRow), u32(bias ? 1 : 0)];
      const buffers = [part.buffer, x.buffer, out.buffer, bias ?? this.placeholder];
      if (n === 1 && this.subgroups) {
        const rows = (MATVEC_SUBGROUP_WG / this.subgroupLanes) * MATVEC_SUBGROUP_RT;
        this.dispatch(
          'matvecSubgroup',
          { weightType: w.type, defines: { WG: MATVEC_SUBGROUP_WG, LANES: this.subgroupLanes, RT: MATVEC_SUBGROUP_RT } },
          common,
          buffers,
          this.grid(Math.ceil(part.rowCount / rows)),
        );
      } else if (n === 1) {
        this.dispatch(
          'matvec',
          { weightType: w.type, defines: { WG: MATVEC_WG, ROWS: MATVEC_ROWS } },
          common,
          buffers,
          this.grid(Math.ceil(part.rowCount / MATVEC_ROWS)),
        );
      } else if (this.tiledMatmul) {
        const { ROWS, TOKENS, K4 } = MATMUL_TILED;
        this.dispatch(
          'matmulTiled',
          { weightType: w.type, defines: { TM: ROWS, TN: TOKENS, TK4: K4, WG: (ROWS / 4) * (TOKENS / 4) } },
          [...common, u32(n), u32(w.rows)],
          buffers,
          [Math.ceil(part.rowCount / ROWS), Math.ceil(n / TOKENS)],
        );
      } else {
        this.dispatch('matmul', { weightType: w.type }, [...common, u32(n), u32(w.rows)], buffers, [
          Math.ceil(part.rowCount / MATMUL_TILE),
          Math.ceil(n / MATMUL_TILE),
        ]);
      }
    }
  }

  rope(x: ActBuffer, n: number, p: RopeParams): void {
    requireCapacity(x, n * p.nHeads * p.headDim, 'rope x');
    if (p.nRot % 2 !== 0 || p.nRot > p.headDim || p.nRot <= 0) throw badRequest(`rope: nRot ${p.nRot} must be even and <= headDim ${p.headDim}`);
    const threads = n * p.nHeads * (p.nRot / 2);
    this.dispatch(
      'rope',
      { defines: { WG: ELEMENTWISE_WG } },
      [
        u32(n),
        u32(p.nHeads),
        u32(p.headDim),
        u32(p.nRot),
        u32(p.startPos),
        ...ropeAngleFields(p),
      ],
      [x.buffer, p.freqFactors ?? this.placeholder],
      this.grid(Math.ceil(threads / ELEMENTWISE_WG)),
    );
  }

  writeCacheRows(src: ActBuffer, cache: GPUBuffer, startPos: number, n: number, width: number, kvType: KvType = 'f32'): void {
    requireCapacity(src, n * width, 'writeCacheRows src');
    const offset = this.cacheRowsOffset(cache, startPos, n, width, kvType);
    if (kvType === 'f32') {
      this.copyBytes(src.buffer, 0, cache, offset, n * width * 4);
      return;
    }
    const words = (n * width) / 2;
    this.dispatch('kvWriteF16', { defines: { WG: ELEMENTWISE_WG } }, [u32(words), u32(offset / 4)], [src.buffer, cache], this.grid(Math.ceil(words / ELEMENTWISE_WG)));
  }

  readCacheRows(cache: GPUBuffer, startPos: number, n: number, width: number, out: ActBuffer, kvType: KvType = 'f32'): void {
    requireCapacity(out, n * width, 'readCacheRows out');
    const offset = this.cacheRowsOffset(cache, startPos, n, width, kvType);
    if (kvType === 'f32') {
      this.copyBytes(cache, offset, out.buffer, 0, n * width * 4);
      return;
    }
    const words = (n * width) / 2;
    this.dispatch('kvReadF16', { defines: { WG: ELEMENTWISE_WG } }, [u32(words), u32(offset / 4)], [cache, out.buffer], this.grid(Math.ceil(words / ELEMENTWISE_WG)));
  }

  /** Byte offset of row startPos in a cache of `width`-element rows; throws when rows startPos..+n pass its end. */
  private cacheRowsOffset(cache: GPUBuffer, startPos: number, n: number, width: number, kvType: KvType): number {
    if (kvType === 'f16' && width % 2 !== 0) throw badRequest(`an f16 KV cache needs an even row width, got ${width}`);
    const rowBytes = width * kvBytesPerElement(kvType);
    const offset = startPos * rowBytes;
    if (offset + n * rowBytes > cache.size) {
      throw new ClawError('clw-ctx-overflow', `KV cache rows ${startPos}..${startPos + n} exceed its capacity`, {
        details: { startPos, n, width, cacheBytes: cache.size },
      });
    }
    return offset;
  }

  attention(q: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: ActBuffer, p: AttentionParams): void {
    const qWidth = p.nHeads * p.headDim;
    requireCapacity(q, p.nTokens * qWidth, 'attention q');
    requireCapacity(out, p.nTokens * qWidth, 'attention out');
    if (p.headDim % 4 !== 0 || p.nKvHeads <= 0 || p.nHeads % p.nKvHeads !== 0) {
      throw badRequest(`attention: headDim ${p.headDim} must be a multiple of 4 and nHeads ${p.nHeads} a multiple of nKvHeads ${p.nKvHeads}`);
    }
    const kvType = p.kvType ?? 'f32';
    const needed = (p.startPos + p.nTokens) * p.nKvHeads * p.headDim * kvBytesPerElement(kvType);
    if (needed > kCache.size || needed > vCache.size) {
      throw new ClawError('clw-ctx-overflow', `attention reads KV rows up to ${p.startPos + p.nTokens}, past the cache`, {
        details: { startPos: p.startPos, nTokens: p.nTokens },
      });
    }
    if (out.buffer === q.buffer) throw badRequest('attention: the output must be a separate buffer');
    if (p.nTokens === 1 && this.splitDecodeAttention && this.splitAttention(q, kCache, vCache, out, p)) return;
    this.dispatch(
      'attention',
      { kvType, defines: { WG: ATTENTION_WG, HEAD_DIM: p.headDim } },
      [u32(p.nTokens), u32(p.startPos), u32(p.nHeads), u32(p.nKvHeads), f32(p.scale), u32(p.slidingWindow ?? 0), f32(p.softcap ?? 0)],
      [q.buffer, kCache, vCache, out.buffer],
      [p.nHeads, p.nTokens],
    );
  }

  siluMul(gate: ActBuffer, up: ActBuffer, out: ActBuffer, count: number): void {
    this.gatedUnit('siluMul', gate, up, out, count);
  }

  geluMul(gate: ActBuffer, up: ActBuffer, out: ActBuffer, count: number): void {
    this.gatedUnit('geluMul', gate, up, out, count);
  }

  shortConv(b: ActBuffer, c: ActBuffer, x: ActBuffer, kernel: GPUBuffer, state: GPUBuffer, n: number, channels: number, width: number): void {
    for (const [buf, what] of [[b, 'b'], [c, 'c'], [x, 'x']] as const) requireCapacity(buf, n * channels, `shortConv ${what}`);
    if (!(Number.isInteger(width) && width >= 2)) throw badRequest(`shortConv: width ${width} must be an integer of at least 2`);
    this.dispatch(
      'shortConv',
      { defines: { WG: ELEMENTWISE_WG, HIST: width - 1, PACKED: false } },
      [u32(n), u32(channels)],
      [b.buffer, c.buffer, x.buffer, kernel, state],
      this.grid(Math.ceil(channels / ELEMENTWISE_WG)),
    );
  }

  add(a: ActBuffer, b: ActBuffer, out: ActBuffer, count: number): void {
    for (const [buf, what] of [[a, 'a'], [b, 'b'], [out, 'out']] as const) requireCapacity(buf, count, `add ${what}`);
    if (a.buffer === b.buffer) {
      // x + x: one binding only, so double it.
      if (out.buffer !== a.buffer) this.copy(a, 0, out, 0, count);
      this.scale(out, 2, count);
      return;
    }
    let acc = out;
    let other = b;
    if (out.buffer === b.buffer) other = a;
    else if (out.buffer !== a.buffer) this.copy(a, 0, out, 0, count);
    else acc = a;
    this.elementwise('add', [u32(count)], [acc.buffer, other.buffer], count);
  }

  scale(x: ActBuffer, s: number, count: number): void {
    requireCapacity(x, count, 'scale x');
    this.elementwise('scale', [u32(count), f32(s)], [x.buffer], count);
  }

  softcap(x: ActBuffer, c: number, count: number): void {
    requireCapacity(x, count, 'softcap x');
    if (!(c > 0)) throw badRequest(`softcap: c must be > 0, got ${c}`);
    this.elementwise('softcap', [u32(count), f32(c)], [x.buffer], count);
  }

  copy(src: ActBuffer, srcOffset: number, dst: ActBuffer, dstOffset: number, count: number): void {
    requireCapacity(src, srcOffset + count, 'copy src');
    requireCapacity(dst, dstOffset + count, 'copy dst');
    if (src.buffer === dst.buffer) throw badRequest('copy: source and destination must be different buffers');
    this.copyBytes(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, count * 4);
  }

  ssmConv(x: ActBuffer, state: GPUBuffer, weight: GPUBuffer, p: SsmConvParams): void {
    requireCapacity(x, p.nTokens * p.channels, 'ssmConv x');
    if (!(p.kernel >= 2 && p.kernel <= 8)) throw badRequest(`ssmConv: a kernel of ${p.kernel} taps (2..8 supported)`);
    this.dispatch('ssmConv', { defines: { WG: ELEMENTWISE_WG } }, [u32(p.nTokens), u32(p.channels), u32(p.kernel)], [x.buffer, state, weight], [
      Math.ceil(p.channels / ELEMENTWISE_WG),
      1,
    ]);
  }

  deltaNet(qkv: ActBuffer, alpha: ActBuffer, beta: ActBuffer, dt: GPUBuffer, a: GPUBuffer, state: GPUBuffer, out: ActBuffer, p: DeltaNetParams): void {
    const s = p.stateSize;
    if (!(s >= 2 && s <= 256 && (s & (s - 1)) === 0)) throw badRequest(`deltaNet: state size ${s} must be a power of two up to 256`);
    if (p.nVHeads % p.nKHeads !== 0) throw badRequest(`deltaNet: ${p.nVHeads} value heads are not a multiple of ${p.nKHeads} key heads`);
    requireCapacity(qkv, p.nTokens * p.rowStride, 'deltaNet qkv');
    requireCapacity(alpha, p.nTokens * p.nVHeads, 'deltaNet alpha');
    requireCapacity(beta, p.nTokens * p.nVHeads, 'deltaNet beta');
    requireCapacity(out, p.nTokens * p.nVHeads * s, 'deltaNet out');
    this.dispatch(
      'deltaNet',
      { defines: { S_DIM: s } },
      [u32(p.nTokens), u32(p.nKHeads), u32(p.nVHeads), u32(p.rowStride), f32(p.eps)],
      [qkv.buffer, alpha.buffer, beta.buffer, dt, a, state, out.buffer],
      [p.nVHeads, 1],
    );
  }

  gatedAttention(qg: ActBuffer, x: ActBuffer, count: number, headDim: number, gate: boolean): void {
    requireCapacity(qg, 2 * count, 'gatedAttention qg');
    requireCapacity(x, count, 'gatedAttention x');
    if (qg.buffer === x.buffer) throw badRequest('gatedAttention: qg and x must be different buffers');
    this.elementwise('gatedAttention', [u32(count), u32(headDim)], [qg.buffer, x.buffer], count, { GATE: gate });
  }

  get lost(): ClawError | undefined {
    return this.lostError;
  }

  recordDecode(allocator: GpuAllocator, step: GPUBuffer, capacity: number, attention: { nHeads: number; headDim: number }): DecodeRecording {
    const deps = {
      device: this.device,
      allocator,
      pipeline: (kernel: KernelName, variant: KernelVariant) => this.pipeline(kernel, variant),
      pipelineAsync: (kernel: KernelName, variant: KernelVariant) => this.pipelineAsync(kernel, variant),
      placeholder: this.placeholder,
      gridTableEntries: (variant: KernelVariant) => this.gridTableEntries(variant),
      maxStorageBuffers: this.maxStorageBuffers,
      maxGroupsPerDim: this.maxGroupsPerDim,
      cpuEmulated: this.cpuEmulated,
      matvec: this.matvecTuning,
    };
    return new DecodeRecorder(deps, step, capacity, attention);
  }

  async read(src: ActBuffer, offset: number, count: number): Promise<Float32Array> {
    requireCapacity(src, offset + count, 'read src');
    const staging = this.staging.take(count * 4);
    try {
      this.copyBytes(src.buffer, offset * 4, staging, 0, count * 4);
      this.submit();
      await staging.mapAsync(GPUMapMode.READ, 0, count * 4);
      const result = new Float32Array(staging.getMappedRange(0, count * 4).slice(0));
      staging.unmap();
      this.staging.give(staging);
      return result;
    } catch (e) {
      // A failed map leaves the buffer in an unknown state: drop it rather than reuse it.
      this.staging.discard(staging);
      throw this.lostError ?? toClawError(e);
    }
  }

  // ---------------------------------------------------------------------------

  /** Decode attention in three passes (see shaders/attention_decode_*.wgsl); false when its scratch does not fit. */
  private splitAttention(q: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: ActBuffer, p: AttentionParams): boolean {
    const window = p.slidingWindow ?? 0;
    const firstKey = window > 0 ? Math.max(0, p.startPos + 1 - window) : 0;
    const nKeys = p.startPos + 1 - firstKey;
    const nChunks = Math.ceil(nKeys / ATTENTION_DECODE_CHUNK);
    const partialsOffset = p.nHeads * nKeys;
    const statsOffset = partialsOffset + p.nHeads * nChunks * p.headDim;
    const scratch = this.scratch(statsOffset + p.nHeads * nChunks * 2);
    if (!scratch) return false;
    const params = [
      u32(p.nHeads),
      u32(p.nKvHeads),
      u32(firstKey),
      u32(nKeys),
      u32(nChunks),
      f32(p.scale),
      f32(p.softcap ?? 0),
      u32(partialsOffset),
      u32(statsOffset),
    ];
    const opts = { kvType: p.kvType ?? 'f32', defines: { WG: ATTENTION_DECODE_WG, HEAD_DIM: p.headDim, CHUNK: ATTENTION_DECODE_CHUNK } };
    const groups = (threads: number) => this.grid(Math.ceil(threads / ATTENTION_DECODE_WG));
    this.dispatch('attentionDecodeScores', opts, params, [q.buffer, kCache, scratch], groups(p.nHeads * nKeys));
    this.dispatch('attentionDecodeChunks', opts, params, [vCache, scratch], groups(p.nHeads * nChunks * p.headDim));
    this.dispatch('attentionDecodeCombine', opts, params, [scratch, out.buffer], groups(p.nHeads * p.headDim));
    return true;
  }

  /** The decode-attention scratch, grown to hold `floats` (to a power of two); null if the budget refuses. */
  private scratch(floats: number): GPUBuffer | null {
    if (this.collecting) return this.placeholder;
    const bytes = floats * 4;
    if (this.decodeScratch && this.decodeScratch.size >= bytes) return this.decodeScratch;
    let grown: GPUBuffer;
    try {
      // Booked with the read-back staging: working memory of the kernels, kept across models like it.
      grown = this.allocator.allocSync('staging', 2 ** Math.ceil(Math.log2(Math.max(bytes, 4096))), STORAGE_USAGE, 'decode attention scratch');
    } catch {
      return null;
    }
    if (this.decodeScratch) this.retired.push(this.decodeScratch);
    this.decodeScratch = grown;
    return grown;
  }

  private gatedUnit(kernel: 'siluMul' | 'geluMul', gate: ActBuffer, up: ActBuffer, out: ActBuffer, count: number): void {
    for (const [buf, what] of [[gate, 'gate'], [up, 'up'], [out, 'out']] as const) requireCapacity(buf, count, `${kernel} ${what}`);
    if (gate.buffer === up.buffer) throw badRequest(`${kernel}: gate and up must be different buffers`);
    let target = out;
    let other = up;
    let gateIsTarget = true;
    if (out.buffer === up.buffer) {
      other = gate;
      gateIsTarget = false;
    } else if (out.buffer !== gate.buffer) {
      this.copy(gate, 0, out, 0, count);
    } else {
      target = gate;
    }
    this.elementwise(kernel, [u32(count)], [target.buffer, other.buffer], count, { GATE_IS_TARGET: gateIsTarget });
  }

  private elementwise(kernel: KernelName, params: ParamField[], buffers: GPUBuffer[], count: number, defines: ShaderDefines = {}): void {
    if (count <= 0) return;
    this.dispatch(kernel, { defines: { WG: ELEMENTWISE_WG, ...defines } }, params, buffers, this.grid(Math.ceil(count / ELEMENTWISE_WG)));
  }

  /** Records one dispatch: binding 0 is the params slot, bindings 1.. are `buffers` in order. */
  private dispatch(
    kernel: KernelName,
    opts: KernelVariant,
    params: ParamField[],
    buffers: GPUBuffer[],
    groups: [number, number],
  ): void {
    if (groups[0] === 0 || groups[1] === 0) return;
    if (this.collecting) {
      this.collecting.set(variantKey(kernel, opts, this.arithmetic), [kernel, opts]);
      return;
    }
    const pipeline = this.pipeline(kernel, opts);
    const slot = this.uniforms.push(params);
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: slot.buffer, offset: slot.offset, size: slot.size } },
        ...buffers.map((buffer, i) => ({ binding: i + 1, resource: { buffer } })),
        ...this.gridTableEntries(opts),
      ],
    });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1]);
  }

  async precompile(record: () => void): Promise<void> {
    const wanted = new Map<string, [KernelName, KernelVariant]>();
    this.collecting = wanted;
    try {
      record();
    } finally {
      this.collecting = null;
    }
    await Promise.all([...wanted.values()].map(([kernel, opts]) => this.pipelineAsync(kernel, opts)));
  }

  async pipelineAsync(kernel: KernelName, opts: KernelVariant): Promise<GPUComputePipeline> {
    const dtype = this.arithmetic;
    const variant = variantKey(kernel, opts, dtype);
    let pipeline = this.pipelineByVariant.get(variant);
    if (!pipeline) {
      pipeline = await this.pipelines.getAsync(assembleKernel(KERNELS[kernel], { ...opts, dtype }), kernel);
      this.pipelineByVariant.set(variant, pipeline);
    }
    return pipeline;
  }

  private pipeline(kernel: KernelName, opts: KernelVariant): GPUComputePipeline {
    const dtype = this.arithmetic;
    const variant = variantKey(kernel, opts, dtype);
    let pipeline = this.pipelineByVariant.get(variant);
    if (!pipeline) {
      pipeline = this.pipelines.get(assembleKernel(KERNELS[kernel], { ...opts, dtype }), kernel);
      this.pipelineByVariant.set(variant, pipeline);
    }
    return pipeline;
  }

  /** A 1D workgroup count spread over x and y when it passes the per-dimension limit. */
  private grid(workgroups: number): [number, number] {
    if (workgroups <= this.maxGroupsPerDim) return [workgroups, 1];
    const y = Math.ceil(workgroups / this.maxGroupsPerDim);
    return [Math.ceil(workgroups / y), y];
  }

  private computePass(): GPUComputePassEncoder {
    this.begin();
    this.pass ??= this.encoder!.beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private copyBytes(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes <= 0 || this.collecting) return;
    this.begin();
    this.endPass();
    this.encoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }
}

/** The pipeline map's key of a kernel variant. */
function variantKey(kernel: KernelName, opts: KernelVariant, dtype: Dtype): string {
  return `${kernel}|${opts.weightType ?? ''}|${opts.segmentTypes?.join('+') ?? ''}|${opts.kvType ?? ''}|${dtype}|${opts.wideLoads ? 'wide' : ''}|${Object.entries(opts.defines ?? {}).join(',')}`;
}

/** What selects one assembled text of a kernel. */
type KernelVariant = DecodeKernelVariant;

function requireCapacity(buf: ActBuffer, needed: number, what: string): void {
  if (needed > buf.length) throw badRequest(`${what}: needs ${needed} floats, the buffer holds ${buf.length}`);
}

function badRequest(message: string): ClawError {
  return new ClawError('clw-bad-request', message);
}
