// DecodeOps over WebGPU: the fused kernels of the one-token pass, recorded
// once. Each call creates its pipeline (through the ops' cache), writes its
// static parameters into a slot of a uniform arena and creates its bind
// group; the result is a RecordedDispatch list that the decode pass replays
// every token. Values that change per token (the position, the sampling
// step, attention's chunk count) are read by the kernels from the step
// buffer, so nothing here runs per token.

import { ClawError } from '../errors';
import type { GgmlType } from '../gguf/types';
import type { GpuAllocator } from './allocator';
import { STORAGE_USAGE } from './allocator';
import { DECODE_KERNELS, ELEMENTWISE_WG, type KernelName } from './kernels';
import type { MatvecTuning } from './matvec-tuning';
import { badRequest, requireCapacity, type ActBuffer, type DecodeAttentionParams, type DecodeOps, type DeltaNetStepParams, type KvType, type Projection, type RopeStoreParams, type WeightMatrix } from './ops-api';
import type { RecordedDispatch } from './recorded';
import { STEP_BYTES } from './recorded';
import type { ShaderDefines } from './shaders';
import { gatedDispatch, PRE_OUT_BINDING, projectDispatches, type MatvecDeps, type MatvecDispatch, type PreAdd, type ProjectOptions } from './decode-matvec';
import { usesGridTable } from './shaders';
import { f32, ropeStoreFields, u32, type ParamField } from './uniforms';
import { weightRowBytes } from './weights';


const SLOT_BYTES = 256;
const ARENA_SLOTS = 256;
const UNIFORM_USAGE = 0x40 | 0x08; // UNIFORM | COPY_DST
/** Workgroups per dispatch on a CPU emulation: a couple per core of a small machine (each costs a fixed ~50-100 us there). */
const CPU_WORKGROUPS = 4;

/** What selects one pipeline: the kernel and its assembly options (AssembleOptions less dtype). */
export interface DecodeKernelVariant {
  weightType?: GgmlType;
  segmentTypes?: readonly GgmlType[];
  kvType?: KvType;
  defines?: ShaderDefines;
  wideLoads?: boolean;
  int8Dot?: boolean;
}

export interface DecodeRecorderDeps {
  device: GPUDevice;
  allocator: GpuAllocator;
  pipeline(kernel: KernelName, variant: DecodeKernelVariant): GPUComputePipeline;
  pipelineAsync(kernel: KernelName, variant: DecodeKernelVariant): Promise<GPUComputePipeline>;
  /** A hash of the kernel's assembled text (GpuDispatcher.kernelId). */
  kernelId(kernel: KernelName, variant: DecodeKernelVariant): string;
  /** Bound where an optional input is absent. */
  placeholder: GPUBuffer;
  /** The grid table's entry where the variant decodes a lattice type (none otherwise). */
  gridTableEntries(variant: DecodeKernelVariant): GPUBindGroupEntry[];
  maxStorageBuffers: number;
  maxGroupsPerDim: number;
  /** A CPU implementation (GpuContext.cpuEmulated): barrier-free kernel variants, a few workgroups per dispatch. */
  cpuEmulated: boolean;
  /** How matvec_fused spreads rows over threads (the GPU family), per projection site (decode-matvec.ts matvecSite). */
  matvec(site: string): Readonly<MatvecTuning>;
}

/** Bytes of the step buffer for `windows` distinct attention windows: the Step uniform, then one indirect-dispatch record per window. */
export function stepBufferBytes(windows: number): number {
  return STEP_BYTES + 16 * windows;
}

/** The attention scratch (floats) for `capacity` positions: per head and chunk a partial output and two statistics. */
export function decodeAttentionFloats(nHeads: number, headDim: number, capacity: number): number {
  return nHeads * Math.ceil(capacity / DECODE_KERNELS.ATTENTION_CHUNK) * (headDim + 2);
}

/** A dispatch as recorded: its pipeline and bind group are made by finish(). */
interface PendingDispatch {
  kernel: KernelName;
  variant: DecodeKernelVariant;
  slot: { buffer: GPUBuffer; offset: number; size: number };
  buffers: [number, GPUBuffer | GPUBufferBinding][];
  groups: [number, number];
  indirect?: { buffer: GPUBuffer; offset: number };
  /** The kernel, and the weights it reads. */
  label: string;
  site?: string;
}

export class DecodeRecorder implements DecodeOps {
  private readonly pending: PendingDispatch[] = [];
  private readonly arena: GPUBuffer[] = [];
  private readonly arenaStaging: ArrayBuffer[] = [];
  private slots = 0;
  /** Distinct attention windows (0 = none): each has its indirect record in the step buffer. */
  readonly windows: number[] = [];
  /** Cap on workgroups per dispatch; the decode pass applies it to the indirect counts it writes. */
  readonly maxWorkgroups: number;
  /** Attention's first pass runs a thread per (head, chunk) cell (CPU emulations), not a workgroup. */
  readonly attentionByCell: boolean;
  /** Attention scratch shared by every layer (dispatches run in order). */
  private attentionScratch: GPUBuffer | null = null;
  /** ropeAndStore's call, held for the attend() after it (GPU family: one fused dispatch); recorded on its own otherwise. */
  private pendingRope: { qkv: ActBuffer; kCache: GPUBuffer; vCache: GPUBuffer; p: RopeStoreParams } | null = null;
  /**
   * addNormed's call, held for the matvec that reads x next (matvec_fused's
   * PRE_ADD: one dispatch fewer), recorded on its own otherwise.
   */
  private pendingAdd: { x: ActBuffer; y: ActBuffer; weight: GPUBuffer; dim: number; eps: number; scale: number } | null = null;
  /**
   * Where a residual stream is now: a folded add stores x' to the other of
   * two buffers (the dispatch's other workgroups still read x), so each one
   * moves the stream; every recorded binding of the logical buffer is
   * redirected. The same list replays every token, from the same start.
   */
  private readonly moved = new Map<GPUBuffer, GPUBuffer>();
  /** The second buffer of a residual stream (allocated at the first folded add). */
  private readonly twins = new Map<GPUBuffer, GPUBuffer>();

  /** What the projections' dispatches depend on (decode-matvec.ts). */
  private readonly matvecDeps: MatvecDeps;

  constructor(
    private readonly deps: DecodeRecorderDeps,
    /** The step buffer (Step uniform, then indirect records per window): written once per token by the decode pass. */
    readonly step: GPUBuffer,
    /** Positions the KV cache holds: sizes the attention scratch. */
    private readonly capacity: number,
    /** Heads and head size of the widest attention layer (gemma4 layers differ): sizes the attention scratch. */
    private readonly attentionShape: { nHeads: number; headDim: number },
  ) {
    this.maxWorkgroups = deps.cpuEmulated ? CPU_WORKGROUPS : Infinity;
    this.attentionByCell = deps.cpuEmulated;
    this.matvecDeps = { tuningFor: (site) => deps.matvec(site), cpuEmulated: deps.cpuEmulated, maxStorageBuffers: deps.maxStorageBuffers, placeholder: deps.placeholder, step, grid: (n) => this.grid(n) };
  }

  signature(): string {
    this.flushRope();
    this.flushAdd();
    return this.pending.map((d) => `${this.deps.kernelId(d.kernel, d.variant)}:${d.groups.join('x')}${d.indirect ? 'i' : ''}`).join(' ');
  }

  async compile(): Promise<void> {
    this.flushRope();
    this.flushAdd();
    await Promise.all(this.pending.map((d) => this.deps.pipelineAsync(d.kernel, d.variant)));
  }

  /** Uploads the parameter slots, creates the pipelines (unless compiled) and bind groups, and returns the dispatch list. */
  finish(): RecordedDispatch[] {
    this.flushRope();
    this.flushAdd();
    for (let i = 0; i < this.arena.length; i++) {
      const used = Math.min(ARENA_SLOTS, this.slots - i * ARENA_SLOTS);
      this.deps.device.queue.writeBuffer(this.arena[i], 0, this.arenaStaging[i], 0, used * SLOT_BYTES);
    }
    return this.pending.map((d) => {
      const pipeline = this.deps.pipeline(d.kernel, d.variant);
      const bindGroup = this.deps.device.createBindGroup({
        label: `decode ${d.label}`,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: d.slot },
          ...d.buffers.map(([binding, b]) => ({ binding, resource: 'buffer' in b ? b : { buffer: b } })),
          ...this.deps.gridTableEntries(d.variant),
        ],
      });
      return { pipeline, bindGroup, groups: [d.groups[0], d.groups[1], 1], indirect: d.indirect, label: d.label, site: d.site };
    });
  }

  /** Frees the buffers this recording made (not the step buffer). */
  free(): void {
    for (const b of this.arena.splice(0)) this.deps.allocator.free(b);
    if (this.attentionScratch) this.deps.allocator.free(this.attentionScratch);
    this.attentionScratch = null;
    for (const b of this.twins.values()) this.deps.allocator.free(b);
    this.twins.clear();
  }

  project(x: ActBuffer, projections: readonly Projection[], out: ActBuffer, o: ProjectOptions = {}): void {
    const list = projectDispatches(this.matvecDeps, x, projections, out, o);
    const conv = o.conv;
    if (conv) {
      // The conv's two bindings must not cost a dispatch: else it runs on its own after the projection.
      const without = { ...o, conv: undefined };
      if (list.length > projectDispatches(this.matvecDeps, x, projections, out, without).length) {
        this.project(x, projections, out, without);
        this.recordSsmConv(out, conv.state, conv.weight, projections[0].w.rows, conv.taps);
        return;
      }
    }
    this.recordMatvecs(x, out, list, (preAdd) => projectDispatches(this.matvecDeps, x, projections, out, { ...o, preAdd }));
  }

  gatedProject(x: ActBuffer, norm: { weight: GPUBuffer; eps: number }, gate: WeightMatrix, up: WeightMatrix, out: ActBuffer, activation: 'silu' | 'gelu'): void {
    const list = [gatedDispatch(this.matvecDeps, x, norm, gate, up, out, activation)];
    this.recordMatvecs(x, out, list, (preAdd) => [gatedDispatch(this.matvecDeps, x, norm, gate, up, out, activation, preAdd)]);
  }

  /**
   * A call's matvec_fused dispatches; where an add is held for its input x
   * (and x is not also its output), with that add folded in, provided the
   * call then stays as many dispatches, each within the storage-buffer limit.
   */
  private recordMatvecs(x: ActBuffer, out: ActBuffer, plain: MatvecDispatch[], folded: (preAdd: PreAdd) => MatvecDispatch[]): void {
    const add = this.pendingAdd;
    let list: MatvecDispatch[] | null = null;
    let stored: GPUBuffer | null = null;
    if (add && add.x.buffer === x.buffer && out.buffer !== x.buffer) {
      const current = this.at(x.buffer);
      stored = current === x.buffer ? this.twin(x.buffer, add.dim) : x.buffer;
      const withAdd = folded({ y: this.at(add.y.buffer), weight: add.weight, eps: add.eps, scale: add.scale, out: stored });
      const fits = withAdd.every((d) => d.buffers.length + (usesGridTable(d.variant) ? 1 : 0) <= this.deps.maxStorageBuffers);
      if (fits && withAdd.length === plain.length) list = withAdd;
    }
    if (list) {
      this.pendingAdd = null;
      this.flushRope();
      // The stored x' is written where the stream moves to: that binding (pre_out) is not redirected.
      for (const d of list) this.push('matvecFused', d.variant, d.params, d.buffers, d.groups, undefined, d.weights, d.site, PRE_OUT_BINDING);
      if (stored === x.buffer) this.moved.delete(x.buffer);
      else this.moved.set(x.buffer, stored!);
      return;
    }
    for (const d of plain) this.record('matvecFused', d.variant, d.params, d.buffers, d.groups, undefined, d.weights, d.site);
  }

  /** Where the logical buffer `b` is now (a residual stream may have moved). */
  private at(b: GPUBuffer): GPUBuffer {
    return this.moved.get(b) ?? b;
  }

  /** The other buffer of the residual stream `x` (dim floats). */
  private twin(x: GPUBuffer, dim: number): GPUBuffer {
    let t = this.twins.get(x);
    if (!t) {
      t = this.deps.allocator.allocSync('activations', Math.max(16, dim * 4), STORAGE_USAGE, 'decode residual twin');
      this.twins.set(x, t);
    }
    return t;
  }

  ropeAndStore(qkv: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, p: RopeStoreParams): void {
    const { nHeads, nKvHeads, headDim } = p;
    requireCapacity(qkv, (nHeads + 2 * nKvHeads) * headDim, 'ropeAndStore qkv');
    // nRot 0: no rotation (smollm3's NoPE layers), the norms and the cache write only.
    if (p.nRot % 2 !== 0 || p.nRot > headDim || p.nRot < 0) throw badRequest(`ropeAndStore: nRot ${p.nRot} must be even, >= 0 and <= headDim ${headDim}`);
    if (headDim % 2 !== 0) throw badRequest(`ropeAndStore needs an even head size, got ${headDim}`);
    this.flushRope();
    // GPU family: folded into the attend() that follows (attention_decode_split's ROPE).
    if (!this.cpuEmulated) this.pendingRope = { qkv, kCache, vCache, p };
    else this.recordRopeKv(qkv, kCache, vCache, p);
  }

  /** Records a held ropeAndStore on its own (rope_kv.wgsl): when no attend() of the same buffers follows it. */
  private flushRope(): void {
    const r = this.pendingRope;
    if (!r) return;
    this.pendingRope = null;
    this.recordRopeKv(r.qkv, r.kCache, r.vCache, r.p);
  }

  private recordRopeKv(qkv: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, p: RopeStoreParams): void {
    const { nHeads, nKvHeads, headDim } = p;
    const kvType = p.kvType ?? 'f32';
    // A layer on a shared cache has no k to normalize (k_norm is then bound to q's and unused).
    const qkNorm = !!(p.qNorm && (p.kNorm || p.sharedKv));
    const kv = !p.sharedKv;
    const buffers: [number, GPUBuffer][] = [
      [1, this.step],
      [2, qkv.buffer],
      [3, p.freqFactors ?? this.deps.placeholder],
      [6, kCache],
      [7, vCache],
    ];
    if (qkNorm) buffers.push([4, p.qNorm!], [5, p.kNorm ?? p.qNorm!]);
    this.record(
      'ropeKv',
      { defines: { WG: DECODE_KERNELS.HEAD_WG, HEAD_DIM: headDim, QK_NORM: qkNorm, V_NORM: !!p.vNorm, KV: kv, KV_F16: kvType === 'f16' } },
      // Params: the head counts, two pad words, then RopeStore (a struct member starts on 16 bytes).
      [u32(nHeads), u32(nKvHeads), u32(0), u32(0), ...ropeStoreFields(p)],
      buffers,
      [Math.ceil((kv ? nHeads + 2 * nKvHeads : nHeads) / DECODE_KERNELS.HEAD_WG), 1],
    );
  }

  attend(qkv: ActBuffer, kCache: GPUBuffer, vCache: GPUBuffer, out: ActBuffer, p: DecodeAttentionParams & { outputGate?: number }): void {
    const { nHeads, nKvHeads, headDim } = p;
    // Layers may differ (gemma4); the scratch is sized for the widest.
    if (nHeads > this.attentionShape.nHeads || headDim > this.attentionShape.headDim) throw badRequest(`attend: ${nHeads} heads of ${headDim} exceed the pass's ${this.attentionShape.nHeads} of ${this.attentionShape.headDim}`);
    if (headDim % 4 !== 0 || nKvHeads <= 0 || nHeads % nKvHeads !== 0) {
      throw badRequest(`attention: headDim ${headDim} must be a multiple of 4 and nHeads ${nHeads} a multiple of nKvHeads ${nKvHeads}`);
    }
    requireCapacity(qkv, nHeads * headDim, 'attend q');
    requireCapacity(out, nHeads * headDim, 'attend out');
    const window = p.slidingWindow ?? 0;
    let w = this.windows.indexOf(window);
    if (w < 0) {
      w = this.windows.length;
      this.windows.push(window);
      if (stepBufferBytes(this.windows.length) > this.step.size) throw badRequest('attend: the step buffer has no room for another attention window');
    }
    const chunk = DECODE_KERNELS.ATTENTION_CHUNK;
    const maxChunks = Math.ceil(this.capacity / chunk);
    const scratch = this.scratch(decodeAttentionFloats(this.attentionShape.nHeads, this.attentionShape.headDim, this.capacity));
    const gate = p.outputGate;
    if (gate !== undefined) requireCapacity(qkv, gate + nHeads * headDim, 'attend output gate');
    const params = [u32(nHeads), u32(nKvHeads), u32(window), u32(maxChunks), f32(p.scale), f32(p.softcap ?? 0), u32(gate ?? 0)];
    // GPUs: a workgroup per chunk, a thread per key, the held ropeAndStore
    // folded in; CPU emulations: a thread per chunk (no barriers).
    const cells = this.cpuEmulated;
    const r = this.pendingRope;
    const rope = r && r.qkv.buffer === qkv.buffer && r.kCache === kCache && r.vCache === vCache && r.p.nHeads === nHeads && r.p.nKvHeads === nKvHeads && r.p.headDim === headDim ? r.p : null;
    if (rope) this.pendingRope = null;
    const qkNorm = !!(rope?.qNorm && (rope.kNorm || rope.sharedKv));
    const buffers: [number, GPUBuffer | GPUBufferBinding][] = [
      [1, this.step],
      [2, qkv.buffer],
      [3, kCache],
      [4, vCache],
      [5, scratch],
    ];
    if (rope) {
      buffers.push([6, this.slot(ropeStoreFields(rope))], [7, rope.freqFactors ?? this.deps.placeholder]);
      if (qkNorm) buffers.push([8, rope.qNorm!], [9, rope.kNorm ?? rope.qNorm!]);
    }
    const defines = { WG: cells ? DECODE_KERNELS.HEAD_WG : chunk, HEAD_DIM: headDim, CHUNK: chunk, ...(cells ? {} : { ROPE: !!rope, QK_NORM: qkNorm, KV_NEW: !!rope && !rope.sharedKv, V_NORM: !!rope?.vNorm }) };
    this.record(cells ? 'attentionDecodeCells' : 'attentionDecodeSplit', { kvType: p.kvType ?? 'f32', defines }, params, buffers, [0, 0], { buffer: this.step, offset: STEP_BYTES + 16 * w });
    const mergeBuffers: [number, GPUBuffer][] = [
      [1, this.step],
      [2, scratch],
      [3, out.buffer],
    ];
    if (gate !== undefined) mergeBuffers.push([4, qkv.buffer]);
    this.record('attentionDecodeMerge', { defines: { WG: headThreads(headDim), HEAD_DIM: headDim, CHUNK: chunk, OUT_GATE: gate !== undefined } }, params, mergeBuffers, this.grid(nHeads));
  }

  addNormed(x: ActBuffer, y: ActBuffer, weight: GPUBuffer, dim: number, eps: number, scale = 1): void {
    requireCapacity(x, dim, 'addNormed x');
    requireCapacity(y, dim, 'addNormed y');
    if (x.buffer === y.buffer) throw badRequest('addNormed: x and y must be different buffers');
    // Held: the matvec that reads x next may fold it in (recordMatvecs); any other use of x or y records it first.
    this.flushAdd();
    this.pendingAdd = { x, y, weight, dim, eps, scale };
  }

  /** Records a held addNormed on its own (rms_norm_add.wgsl). */
  private flushAdd(): void {
    const a = this.pendingAdd;
    if (!a) return;
    this.pendingAdd = null;
    const { x, y, weight, dim, eps, scale } = a;
    this.record('rmsNormAdd', { defines: { WG: DECODE_KERNELS.HEAD_WG } }, [u32(dim), f32(eps), f32(scale)], [
      [1, x.buffer],
      [2, y.buffer],
      [3, weight],
    ], [1, 1]);
  }

  perLayerInputs(proj: ActBuffer, rows: ActBuffer, projNorm: GPUBuffer, p: { nLayers: number; nPerLayer: number; nEmbd: number; eps: number; rowsScale?: number }): void {
    const count = p.nLayers * p.nPerLayer;
    requireCapacity(proj, count, 'perLayerInputs proj');
    requireCapacity(rows, count, 'perLayerInputs rows');
    const f = Math.fround;
    this.record(
      'pleInputs',
      { defines: { WG: DECODE_KERNELS.HEAD_WG } },
      // The batch path's factors, rounded to f32 as it rounds them.
      [u32(p.nLayers), u32(p.nPerLayer), f32(p.eps), f32(f(1 / f(Math.sqrt(p.nEmbd)))), f32(f(1 / f(Math.SQRT2))), f32(p.rowsScale ?? 1)],
      [
        [1, proj.buffer],
        [2, rows.buffer],
        [3, projNorm],
      ],
      this.grid(p.nLayers),
    );
  }

  shortConv(bcx: ActBuffer, kernel: GPUBuffer, state: GPUBuffer, channels: number, width: number): void {
    requireCapacity(bcx, 3 * channels, 'shortConv bcx');
    if (!(Number.isInteger(width) && width >= 2)) throw badRequest(`shortConv: width ${width} must be an integer of at least 2`);
    this.record(
      'shortConv',
      { defines: { WG: ELEMENTWISE_WG, HIST: width - 1, PACKED: true, STEP: true } },
      [u32(1), u32(channels), u32(0)],
      [
        [1, bcx.buffer],
        [4, kernel],
        [5, state],
        [6, this.step],
      ],
      this.grid(Math.ceil(channels / ELEMENTWISE_WG)),
    );
  }

  /** qwen35's causal depthwise conv of one token, then SiLU, in place over x[0..channels), continuing `state` (where project's conv cannot fold it). */
  private recordSsmConv(x: ActBuffer, state: GPUBuffer, weight: GPUBuffer, channels: number, kernel: number): void {
    requireCapacity(x, channels, 'ssmConv x');
    if (!(Number.isInteger(kernel) && kernel >= 2 && kernel <= 8)) throw badRequest(`ssmConv: a kernel of ${kernel} taps (2..8 supported)`);
    this.record(
      'ssmConv',
      { defines: { WG: ELEMENTWISE_WG, STEP: true } },
      [u32(1), u32(channels), u32(kernel), u32(0)],
      [
        [1, x.buffer],
        [2, state],
        [3, weight],
        [4, this.step],
      ],
      this.grid(Math.ceil(channels / ELEMENTWISE_WG)),
    );
  }

  deltaNetStep(p: ActBuffer, dt: GPUBuffer, a: GPUBuffer, state: GPUBuffer, norm: GPUBuffer, out: ActBuffer, q: DeltaNetStepParams): void {
    const s = q.stateSize;
    if (!(s >= 2 && s <= 256 && (s & (s - 1)) === 0)) throw badRequest(`deltaNetStep: state size ${s} must be a power of two up to 256`);
    if (q.nVHeads % q.nKHeads !== 0) throw badRequest(`deltaNetStep: ${q.nVHeads} value heads are not a multiple of ${q.nKHeads} key heads`);
    const valueDim = q.nVHeads * s;
    requireCapacity(p, Math.max((2 * q.nKHeads * s) + valueDim, q.zOffset + valueDim, q.alphaOffset + q.nVHeads, q.betaOffset + q.nVHeads), 'deltaNetStep p');
    requireCapacity(out, valueDim, 'deltaNetStep out');
    if (p.buffer === out.buffer) throw badRequest('deltaNetStep: p and out must be different buffers');
    this.record(
      'deltaNet',
      { defines: { S_DIM: s, PACKED: true, STEP: true } },
      [u32(1), u32(q.nKHeads), u32(q.nVHeads), u32(0), f32(q.eps), u32(q.zOffset), u32(q.alphaOffset), u32(q.betaOffset), u32(0)],
      [
        [1, p.buffer],
        [4, dt],
        [5, a],
        [6, state],
        [7, out.buffer],
        [8, norm],
        [9, this.step],
      ],
      // A workgroup per value head (its S_DIM threads share the head's reductions).
      [q.nVHeads, 1],
    );
  }

  embed(table: WeightMatrix, ids: GPUBuffer, out: ActBuffer): void {
    requireCapacity(out, table.cols, 'embed out');
    const rowBytes = weightRowBytes(table.type, table.cols);
    for (const part of table.parts) {
      this.record(
        'embedRows',
        { weightType: table.type, defines: { WG: ELEMENTWISE_WG } },
        [u32(part.rowCount), u32(table.cols), u32(rowBytes), u32(part.firstRow), u32(1), u32(0)],
        [
          [1, part.buffer],
          [2, ids],
          [3, out.buffer],
        ],
        this.grid(Math.ceil(table.cols / 4 / ELEMENTWISE_WG)),
        undefined,
        table.name,
      );
    }
  }

  scale(x: ActBuffer, s: number, count: number): void {
    requireCapacity(x, count, 'scale x');
    this.record('scale', { defines: { WG: ELEMENTWISE_WG } }, [u32(count), f32(s)], [[1, x.buffer]], this.grid(Math.ceil(count / ELEMENTWISE_WG)));
  }

  // ---------------------------------------------------------------------------

  private get cpuEmulated(): boolean {
    return this.deps.cpuEmulated;
  }

  private record(
    kernel: KernelName,
    variant: DecodeKernelVariant,
    params: ParamField[],
    buffers: [number, GPUBuffer | GPUBufferBinding][],
    groups: [number, number],
    indirect?: { buffer: GPUBuffer; offset: number },
    /** The weights it reads, for its label. */
    weights?: string,
    /** A matvec's projection site. */
    site?: string,
  ): void {
    // A held add goes first when this dispatch touches its x or y.
    const add = this.pendingAdd;
    if (add && buffers.some(([, b]) => bufferOf(b) === add.x.buffer || bufferOf(b) === add.y.buffer)) this.flushAdd();
    this.flushRope();
    this.push(kernel, variant, params, buffers, groups, indirect, weights, site);
  }

  /** Appends a dispatch, its bindings of a moved residual stream redirected (except binding `keep`, where a folded add stores x'). */
  private push(
    kernel: KernelName,
    variant: DecodeKernelVariant,
    params: ParamField[],
    buffers: [number, GPUBuffer | GPUBufferBinding][],
    groups: [number, number],
    indirect: { buffer: GPUBuffer; offset: number } | undefined,
    weights: string | undefined,
    site: string | undefined,
    keep?: number,
  ): void {
    const label = weights ? `${kernel} ${weights}` : kernel;
    const bound = buffers.map(([binding, b]): [number, GPUBuffer | GPUBufferBinding] => {
      const buffer = bufferOf(b);
      if (binding === keep || !this.moved.has(buffer)) return [binding, b];
      return [binding, 'buffer' in b ? { ...b, buffer: this.at(buffer) } : this.at(buffer)];
    });
    this.pending.push({ kernel, variant, slot: this.slot(params), buffers: bound, groups, indirect, label, site });
  }

  /** A 256-byte parameter slot of the arena, filled now and uploaded by finish(). */
  private slot(fields: readonly ParamField[]): { buffer: GPUBuffer; offset: number; size: number } {
    if (fields.length * 4 > SLOT_BYTES) throw new ClawError('clw-llm-crash', `decode kernel params too large: ${fields.length} fields`);
    const index = Math.floor(this.slots / ARENA_SLOTS);
    if (index === this.arena.length) {
      this.arena.push(this.deps.allocator.allocSync('activations', SLOT_BYTES * ARENA_SLOTS, UNIFORM_USAGE, `decode params ${index}`));
      this.arenaStaging.push(new ArrayBuffer(SLOT_BYTES * ARENA_SLOTS));
    }
    const offset = (this.slots % ARENA_SLOTS) * SLOT_BYTES;
    const view = new DataView(this.arenaStaging[index], offset, SLOT_BYTES);
    fields.forEach((field, i) => {
      if ('u32' in field) view.setUint32(i * 4, field.u32 >>> 0, true);
      else view.setFloat32(i * 4, field.f32, true);
    });
    this.slots++;
    return { buffer: this.arena[index], offset, size: Math.max(16, Math.ceil((fields.length * 4) / 16) * 16) };
  }

  private scratch(floats: number): GPUBuffer {
    const bytes = Math.max(16, floats * 4);
    if (!this.attentionScratch) this.attentionScratch = this.deps.allocator.allocSync('activations', bytes, STORAGE_USAGE, 'decode attention partials');
    return this.attentionScratch;
  }

  /** Workgroups for `wanted` units of work: capped, then spread over x and y past the per-dimension limit. */
  private grid(wanted: number): [number, number] {
    const workgroups = Math.min(wanted, this.maxWorkgroups);
    const max = this.deps.maxGroupsPerDim;
    if (workgroups <= max) return [workgroups, 1];
    const y = Math.ceil(workgroups / max);
    return [Math.ceil(workgroups / y), y];
  }
}

/** Slots of one arena buffer of decode parameters, for the memory planner. */
export const DECODE_PARAM_SLOTS_PER_BUFFER = ARENA_SLOTS;
export const DECODE_PARAM_BUFFER_BYTES = ARENA_SLOTS * SLOT_BYTES;

function bufferOf(b: GPUBuffer | GPUBufferBinding): GPUBuffer {
  return 'buffer' in b ? b.buffer : b;
}

/** Threads per head for the per-head kernels: one per element up to HEAD_WG (a power of two, for their tree reductions). */
function headThreads(headDim: number): number {
  return Math.min(DECODE_KERNELS.HEAD_WG, 2 ** Math.ceil(Math.log2(headDim)));
}


