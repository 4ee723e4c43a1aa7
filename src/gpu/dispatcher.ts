// The recording machinery under GpuOps (webgpu-ops.ts): each dispatch
// assembles (once) its kernel, fills a uniform slot, binds its buffers and
// records into the current encoder's compute pass; copies end the pass;
// submit() finishes the encoder; read() copies into pooled staging and maps
// it. precompile() runs a recording in collecting mode: the kernels it
// would dispatch are gathered and compiled, nothing encoded or allocated.

import { ClawError, toClawError } from '../errors';
import { STORAGE_USAGE, type GpuAllocator } from './allocator';
import type { DecodeKernelVariant } from './decode-ops';
import type { GpuContext } from './device';
import { KERNELS, type KernelName } from './kernels';
import { requireCapacity, type ActBuffer, type Dtype } from './ops-api';
import { GRID_TABLE_BINDING, GRID_TABLE_WORDS } from './quant-tables';
import { assembleKernel, PipelineCache, usesGridTable } from './shaders';
import { StagingPool } from './staging';
import { hashText } from './text-hash';
import { UniformRing, type ParamField } from './uniforms';


/** What selects one assembled text of a kernel. */
export type KernelVariant = DecodeKernelVariant;

export class GpuDispatcher {
  readonly device: GPUDevice;
  private readonly pipelines: PipelineCache;
  private readonly uniforms: UniformRing;
  private readonly staging: StagingPool;
  /** Bound where a kernel's optional input (bias, norm weight, freq factors) is absent. */
  protected readonly placeholder: GPUBuffer;
  /** The lattice grids of the IQ1/IQ2/IQ3 types (9 KiB), bound by every kernel that decodes one. */
  private readonly gridTableBuffer: GPUBuffer;
  protected readonly maxGroupsPerDim: number;
  /** Pipelines by (kernel, weight type, defines), so the hot path skips assembling text. */
  private readonly pipelineByVariant = new Map<string, GPUComputePipeline>();
  /** The hash of each variant's assembled text (kernelId). */
  private readonly idByVariant = new Map<string, string>();
  private encoder: GPUCommandEncoder | null = null;
  /** While precompile() records: the kernels asked for, nothing encoded or allocated. */
  protected collecting: Map<string, [KernelName, KernelVariant]> | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private lostError: ClawError | undefined;
  readonly whenLost: Promise<ClawError>;
  private readonly hasF16: boolean;
  private arithmetic: Dtype = 'f32';
  /** Outgrown scratch buffers still used by recorded work: freed after the next submit. */
  protected readonly retired: GPUBuffer[] = [];

  constructor(
    ctx: GpuContext,
    protected readonly allocator: GpuAllocator,
    dtype: Dtype,
  ) {
    this.device = ctx.device;
    this.pipelines = new PipelineCache(ctx.device);
    this.uniforms = new UniformRing(ctx.device, allocator);
    this.staging = new StagingPool(allocator);
    this.placeholder = allocator.allocSync('activations', 16, STORAGE_USAGE, 'placeholder input');
    this.gridTableBuffer = allocator.allocSync('activations', GRID_TABLE_WORDS.byteLength, STORAGE_USAGE, 'iq grid table');
    ctx.device.queue.writeBuffer(this.gridTableBuffer, 0, GRID_TABLE_WORDS);
    this.maxGroupsPerDim = ctx.limits.maxComputeWorkgroupsPerDimension;
    this.hasF16 = ctx.features.f16;
    this.dtype = dtype;
    this.whenLost = ctx.lost;
    void ctx.lost.then((e) => (this.lostError = e));
  }

  get dtype(): Dtype {
    return this.arithmetic;
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

  gridTable(): GPUBuffer {
    return this.gridTableBuffer;
  }

  /** The grid table's bind group entry, for a kernel that decodes a lattice type. */
  protected gridTableEntries(opts: KernelVariant): GPUBindGroupEntry[] {
    return usesGridTable(opts) ? [{ binding: GRID_TABLE_BINDING, resource: { buffer: this.gridTable() } }] : [];
  }

  get lost(): ClawError | undefined {
    return this.lostError;
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

  /** Records one dispatch: binding 0 is the params slot, bindings 1.. are `buffers` in order. */
  protected dispatch(
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

  /** A hash of the text `kernel` assembles to under `opts` (and the arithmetic path): equal ids, the same pipeline. */
  kernelId(kernel: KernelName, opts: KernelVariant): string {
    const variant = variantKey(kernel, opts, this.arithmetic);
    let id = this.idByVariant.get(variant);
    if (id === undefined) {
      id = hashText(assembleKernel(KERNELS[kernel], { ...opts, dtype: this.arithmetic }));
      this.idByVariant.set(variant, id);
    }
    return id;
  }

  protected pipeline(kernel: KernelName, opts: KernelVariant): GPUComputePipeline {
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
  protected grid(workgroups: number): [number, number] {
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

  protected copyBytes(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes <= 0 || this.collecting) return;
    this.begin();
    this.endPass();
    this.encoder!.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }
}

/** The pipeline map's key of a kernel variant. */
function variantKey(kernel: KernelName, opts: KernelVariant, dtype: Dtype): string {
  return `${kernel}|${opts.weightType ?? ''}|${opts.segmentTypes?.join('+') ?? ''}|${opts.kvType ?? ''}|${dtype}|${opts.wideLoads ? 'wide' : ''}${opts.int8Dot ? 'i8' : ''}|${Object.entries(opts.defines ?? {}).join(',')}`;
}


