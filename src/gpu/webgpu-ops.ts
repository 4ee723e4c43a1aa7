// The immediate-mode GpuOps over WebGPU (created by createGpuOps in ops.ts):
// each call checks its buffers, picks its kernel variant and records a
// dispatch through GpuDispatcher (dispatcher.ts). Kernels that write a
// buffer they also read run in place, because WebGPU forbids binding one
// buffer twice when one binding is writable; when the output is a third
// buffer the input is copied there first.

import { ClawError } from '../errors';
import { STORAGE_USAGE, type GpuAllocator } from './allocator';
import { DecodeRecorder } from './decode-ops';
import type { GpuContext } from './device';
import { GpuDispatcher, type KernelVariant } from './dispatcher';
import {
  ATTENTION_DECODE_CHUNK,
  ATTENTION_DECODE_WG,
  ATTENTION_WG,
  ELEMENTWISE_WG,
  MATMUL_TILE,
  MATMUL_TILED,
  MATVEC_ROWS,
  MATVEC_SUBGROUP_RT,
  MATVEC_SUBGROUP_WG,
  MATVEC_WG,
  ROW_WG,
  type KernelName,
} from './kernels';
import { MATVEC_AUTOTUNE_CANDIDATES } from './matvec-autotune';
import { defaultMatvecStore, type MatvecChoiceStore } from './matvec-memory';
import { resolveMatvecChoice, resolveMatvecTuning, type MatvecChoice, type MatvecTuning, type MatvecTuningCase } from './matvec-tuning';
import type { GpuOpsOptions } from './ops';
import { badRequest, kvBytesPerElement, requireCapacity, type ActBuffer, type AttentionParams, type DecodeRecording, type DeltaNetParams, type GpuOps, type KvType, type RopeParams, type SsmConvParams, type WeightMatrix } from './ops-api';
import type { ShaderDefines } from './shaders';
import { f32, ropeStoreFields, u32, type ParamField } from './uniforms';
import { weightRowBytes } from './weights';

/** The adapter's smallest subgroup size where it says (Dawn, Chrome 134+), else a common one; a power of two. */
function minSubgroupSize(ctx: GpuContext): number {
  const size = ctx.adapter.info?.subgroupMinSize;
  return typeof size === 'number' && size >= 1 ? 2 ** Math.floor(Math.log2(size)) : 32;
}

export class WebGpuOps extends GpuDispatcher implements GpuOps {
  private readonly maxStorageBuffers: number;
  /** The decode pass uses its CPU-emulation kernel variants. */
  private readonly cpuEmulated: boolean;
  /** Whether the subgroup kernels run (device feature and option). */
  readonly subgroups: boolean;
  private readonly splitDecodeAttention: boolean;
  private readonly tiledMatmul: boolean;
  /** Scores and per-chunk partials of split decode attention; grows, never shrinks. */
  private decodeScratch: GPUBuffer | null = null;
  /** Lanes per row of the subgroup kernels: the adapter's smallest subgroup size, at most one workgroup. */
  private readonly subgroupLanes: number;
  /** The tuning of each projection site (GpuOpsOptions.matvec). */
  private readonly matvecTuning: (site: string) => Readonly<MatvecTuning>;
  readonly matvecAutotune: readonly MatvecTuningCase[] | null;
  readonly matvecStore: MatvecChoiceStore | null;
  readonly matvecRemeasure: boolean;
  readonly matvecSearchContext: string;
  /** A tuning over the defaults, checked against the device. */
  private readonly resolveTuning: (t: Partial<MatvecTuning> | undefined) => Readonly<MatvecTuning>;

  constructor(ctx: GpuContext, allocator: GpuAllocator, options: GpuOpsOptions) {
    super(ctx, allocator, options.dtype ?? 'f32');
    this.maxStorageBuffers = ctx.limits.maxStorageBuffersPerShaderStage;
    this.cpuEmulated = options.decodeVariant === 'cpu' || (options.decodeVariant !== 'gpu' && ctx.cpuEmulated);
    this.subgroups = ctx.features.subgroups && options.subgroups !== false;
    this.splitDecodeAttention = options.splitDecodeAttention !== false;
    this.tiledMatmul = options.tiledMatmul !== false;
    this.subgroupLanes = Math.min(MATVEC_SUBGROUP_WG, options.subgroupLanes ?? minSubgroupSize(ctx));
    if (!Number.isInteger(Math.log2(this.subgroupLanes))) throw badRequest(`subgroupLanes ${this.subgroupLanes} is not a power of two`);
    this.resolveTuning = (t) => resolveMatvecTuning(t, ctx.limits, ctx.features);
    this.matvecTuning = resolveMatvecChoice(options.matvec === 'auto' ? undefined : options.matvec, this.resolveTuning);
    this.matvecAutotune = options.matvec === 'auto' ? (options.matvecCandidates ?? MATVEC_AUTOTUNE_CANDIDATES) : null;
    if (this.matvecAutotune?.length === 0) throw badRequest('matvecCandidates: the search needs at least one tuning');
    this.matvecStore = this.matvecAutotune && options.matvecStore !== 'none' ? (options.matvecStore ?? defaultMatvecStore()) : null;
    this.matvecRemeasure = options.matvecRemeasure === true;
    const { adapterDescription, features, limits, cpuEmulated } = ctx;
    this.matvecSearchContext = JSON.stringify({ adapterDescription, features, limits, cpuEmulated, family: this.cpuEmulated ? 'cpu' : 'gpu', subgroups: this.subgroups, lanes: this.subgroupLanes });
  }

  embedRows(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer, n: number, group = 0): void {
    requireCapacity(out, n * table.cols, 'embedRows out');
    if (group !== 0 && !(group % 4 === 0 && table.cols % group === 0)) throw badRequest(`embedRows: a group of ${group} columns must be a multiple of 4 dividing ${table.cols}`);
    const rowBytes = weightRowBytes(table.type, table.cols);
    const threads = (n * table.cols) / 4;
    for (const part of table.parts) {
      this.dispatch(
        'embedRows',
        { weightType: table.type, defines: { WG: ELEMENTWISE_WG } },
        [u32(part.rowCount), u32(table.cols), u32(rowBytes), u32(part.firstRow), u32(n), u32(group)],
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
      // matrix.wgsl's Params, the same for the four kernels.
      const params = [u32(part.rowCount), u32(w.cols), u32(rowBytes), u32(part.firstRow), u32(bias ? 1 : 0), u32(n), u32(w.rows)];
      const buffers = [part.buffer, x.buffer, out.buffer, bias ?? this.placeholder];
      if (n === 1 && this.subgroups) {
        const rows = (MATVEC_SUBGROUP_WG / this.subgroupLanes) * MATVEC_SUBGROUP_RT;
        this.dispatch(
          'matvecSubgroup',
          { weightType: w.type, defines: { WG: MATVEC_SUBGROUP_WG, LANES: this.subgroupLanes, RT: MATVEC_SUBGROUP_RT } },
          params,
          buffers,
          this.grid(Math.ceil(part.rowCount / rows)),
        );
      } else if (n === 1) {
        this.dispatch(
          'matvec',
          { weightType: w.type, defines: { WG: MATVEC_WG, ROWS: MATVEC_ROWS } },
          params,
          buffers,
          this.grid(Math.ceil(part.rowCount / MATVEC_ROWS)),
        );
      } else if (this.tiledMatmul) {
        const { ROWS, TOKENS, K4 } = MATMUL_TILED;
        this.dispatch(
          'matmulTiled',
          { weightType: w.type, defines: { TM: ROWS, TN: TOKENS, TK4: K4, WG: (ROWS / 4) * (TOKENS / 4) } },
          params,
          buffers,
          [Math.ceil(part.rowCount / ROWS), Math.ceil(n / TOKENS)],
        );
      } else {
        this.dispatch('matmul', { weightType: w.type }, params, buffers, [
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
        u32(p.startPos),
        ...ropeStoreFields(p),
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

  shortConv(b: ActBuffer, c: ActBuffer, x: ActBuffer, kernel: GPUBuffer, state: GPUBuffer, n: number, channels: number, width: number, startPos: number): void {
    for (const [buf, what] of [[b, 'b'], [c, 'c'], [x, 'x']] as const) requireCapacity(buf, n * channels, `shortConv ${what}`);
    if (!(Number.isInteger(width) && width >= 2)) throw badRequest(`shortConv: width ${width} must be an integer of at least 2`);
    this.dispatch(
      'shortConv',
      { defines: { WG: ELEMENTWISE_WG, HIST: width - 1, PACKED: false, STEP: false } },
      [u32(n), u32(channels), u32(startPos)],
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
    this.dispatch('ssmConv', { defines: { WG: ELEMENTWISE_WG, STEP: false } }, [u32(p.nTokens), u32(p.channels), u32(p.kernel), u32(p.startPos)], [x.buffer, state, weight], [
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
      { defines: { S_DIM: s, PACKED: false, STEP: false } },
      [u32(p.nTokens), u32(p.nKHeads), u32(p.nVHeads), u32(p.rowStride), f32(p.eps), u32(0), u32(0), u32(0), u32(p.startPos)],
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

  recordDecode(allocator: GpuAllocator, step: GPUBuffer, capacity: number, attention: { nHeads: number; headDim: number }, matvec?: MatvecChoice): DecodeRecording {
    const deps = {
      device: this.device,
      allocator,
      pipeline: (kernel: KernelName, variant: KernelVariant) => this.pipeline(kernel, variant),
      pipelineAsync: (kernel: KernelName, variant: KernelVariant) => this.pipelineAsync(kernel, variant),
      kernelId: (kernel: KernelName, variant: KernelVariant) => this.kernelId(kernel, variant),
      placeholder: this.placeholder,
      gridTableEntries: (variant: KernelVariant) => this.gridTableEntries(variant),
      maxStorageBuffers: this.maxStorageBuffers,
      maxGroupsPerDim: this.maxGroupsPerDim,
      cpuEmulated: this.cpuEmulated,
      matvec: matvec ? resolveMatvecChoice(matvec, this.resolveTuning) : this.matvecTuning,
    };
    return new DecodeRecorder(deps, step, capacity, attention);
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
}
