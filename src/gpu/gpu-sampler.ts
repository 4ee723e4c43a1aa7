// Sampling on the GPU: the CPU sampler's chain (src/engine/sampler.ts, the
// reference it matches token for token) over the logits buffer, writing the
// chosen id to tokenOut[0], where the next decode pass's embedding lookup
// reads it. Everything is made once per model; a request writes a few small
// buffers (begin); a token replays dispatches() after the decode pass with
// the Step uniform's sample_index set. Greedy's two kernels are compiled at
// create; the full chain's ~30 (one per radix digit pass) at the first
// request that samples, unless create is told to compile them too (at load,
// on GPUs): on CPU emulations compiling them takes seconds. Kernels:
// shaders/sample_*.wgsl; algorithm and random stream: docs/gpu-kernels.md,
// "GPU sampling".

import { ClawError } from '../errors';
import { penaltyWindow, planSampling } from '../engine/sampler';
import { samplingWgslConstants } from '../engine/sampling-math';
import type { SamplingOptions } from '../engine/types';
import type { GpuAllocator } from './allocator';
import type { RecordedDispatch } from './recorded';
import { assembleKernel, type ShaderDefines } from './shaders';
import commonPiece from '../../shaders/sample_common.wgsl?raw';
import argmaxKernel from '../../shaders/sample_argmax.wgsl?raw';
import finalKernel from '../../shaders/sample_final.wgsl?raw';
import histKernel from '../../shaders/sample_hist.wgsl?raw';
import scanKernel from '../../shaders/sample_scan.wgsl?raw';

/** Invocations per workgroup and logits per invocation of the vocabulary-wide kernels. */
export const SAMPLE_WG = 64;
export const SAMPLE_ITEMS = 16;
/** Ids must fit the radix select's three id digits. */
export const MAX_SAMPLE_VOCAB = 1 << 24;

const STORAGE = 0x80 | 0x08 | 0x04;
/** STORAGE | INDIRECT | COPY_DST: the id passes' workgroup counts, written by a kernel. */
const ARGS_USAGE = 0x80 | 0x100 | 0x08;
/** Where each select's indirect arguments start (u32 index): hist at +0, scan at +4. */
const ARGS_BASE = { topK: 0, topP: 8 } as const;
const UNIFORM = 0x40 | 0x08;
const PARAMS_BYTES = 64;
const STATE_WORDS = 12;
const WINDOW_ALL = 0xffffffff;
const KEY_DIGITS = 4;

/** Bytes GpuSampler.create allocates for a vocabulary of nVocab (the window ring grows past 64 ids only for a longer repeatLastN). */
export function gpuSamplerBytes(nVocab: number): number {
  return Object.values(samplerBufferBytes(nVocab)).reduce((a, b) => a + b, 0);
}

/** The size of each buffer GpuSampler.create allocates (one table for the allocation and the planner). */
function samplerBufferBytes(n: number) {
  return {
    params: PARAMS_BYTES,
    // Window counts (n + 1), then the grammar's token bitmask (maskWords(n)): one binding for both.
    counts: (n + 1 + maskWords(n)) * 4,
    state: STATE_WORDS * 4,
    partials: Math.ceil(n / (SAMPLE_WG * SAMPLE_ITEMS)) * 8,
    hist: 768 * 4,
    args: 16 * 4,
    ring: 64 * 4,
  };
}

/** u32 words of a token bitmask over n ids (bit id & 31 of word id >> 5), as GrammarMatcher.mask() gives it. */
export function maskWords(n: number): number {
  return Math.ceil(n / 32);
}

/** What the sampler reads and writes that belongs to the decode pass. */
export interface GpuSamplerTarget {
  /** f32 logits of the last position, nVocab of them. */
  logits: GPUBuffer;
  /** The decode pass's Step uniform (src/gpu/recorded.ts): sample_index counts this request's draws. */
  step: GPUBuffer;
  /** u32; the chosen id goes to element 0. */
  tokenOut: GPUBuffer;
  nVocab: number;
}

/** The dispatch lists of one model: greedy, and (once compiled) the full chain with or without the top-k and top-p selects. */
interface Lists {
  greedy: RecordedDispatch[];
  full: RecordedDispatch[][] | null;
}

export class GpuSampler {
  /** The current request's list (undefined before the first begin). */
  private list: readonly RecordedDispatch[] | undefined;
  private lists: Lists;
  private bindGroup: GPUBindGroup;
  /** The same plus the indirect arguments (binding 9), for the last key scans only: a dispatch that reads them as INDIRECT must not also bind them. */
  private argsBindGroup: GPUBindGroup;
  private ring: GPUBuffer;
  private ringHost: Uint32Array<ArrayBuffer>;
  private readonly paramsHost = new ArrayBuffer(PARAMS_BYTES);
  private readonly stateHost = new Uint32Array(STATE_WORDS);
  /** Window counts written at begin; element nVocab counts history ids outside the vocabulary. */
  private readonly countsHost: Uint32Array<ArrayBuffer>;

  private constructor(
    private readonly device: GPUDevice,
    private readonly allocator: GpuAllocator,
    private readonly target: GpuSamplerTarget,
    private readonly layouts: SamplerLayouts,
    private readonly pipelines: { greedy: GreedyPipelines; full: FullPipelines | null },
    private readonly buffers: { params: GPUBuffer; counts: GPUBuffer; state: GPUBuffer; partials: GPUBuffer; hist: GPUBuffer; args: GPUBuffer },
    ring: GPUBuffer,
  ) {
    this.countsHost = new Uint32Array(target.nVocab + 1);
    this.ring = ring;
    this.ringHost = new Uint32Array(ring.size / 4);
    this.bindGroup = this.createBindGroup(false);
    this.argsBindGroup = this.createBindGroup(true);
    this.lists = this.recordLists();
  }

  /** Compiles greedy's kernels (with `full`, every kernel, in parallel) and allocates the sampler's buffers. */
  static async create(device: GPUDevice, allocator: GpuAllocator, target: GpuSamplerTarget, options: { full?: boolean } = {}): Promise<GpuSampler> {
    const n = target.nVocab;
    if (!(Number.isInteger(n) && n > 0 && n <= MAX_SAMPLE_VOCAB)) {
      throw new ClawError('clw-llm-crash', `GPU sampling needs 1 to ${MAX_SAMPLE_VOCAB} logits, got ${n}`);
    }
    const layouts = {
      main: device.createBindGroupLayout({ label: 'sampler', entries: LAYOUT_ENTRIES }),
      args: device.createBindGroupLayout({ label: 'sampler + args', entries: [...LAYOUT_ENTRIES, { binding: 9, visibility: 4, buffer: { type: 'storage' } }] }),
    };
    const [greedy, full] = await Promise.all([createGreedyPipelines(device, layouts, n), options.full ? createFullPipelines(device, layouts, n) : null]);
    const size = samplerBufferBytes(n);
    const buffers = {
      params: await allocator.alloc('activations', size.params, UNIFORM, 'sampler params'),
      counts: await allocator.alloc('activations', size.counts, STORAGE, 'sampler window counts'),
      state: await allocator.alloc('activations', size.state, STORAGE, 'sampler state'),
      partials: await allocator.alloc('activations', size.partials, STORAGE, 'sampler partials'),
      hist: await allocator.alloc('activations', size.hist, STORAGE, 'sampler histogram'),
      args: await allocator.alloc('activations', size.args, ARGS_USAGE, 'sampler indirect arguments'),
    };
    const ring = await allocator.alloc('activations', size.ring, STORAGE, 'sampler window ring');
    return new GpuSampler(device, allocator, target, layouts, { greedy, full }, buffers, ring);
  }

  /**
   * Starts a request: validates the options as the CPU sampler does, and
   * writes them and the penalty window of `history` (prompt and output so
   * far). `drawn` is how many tokens this request has already drawn (e.g.
   * the first one on the CPU sampler, from the prefill's logits): the next
   * GPU draw must have sample_index = drawn, and the ones after it count on
   * from there. Call dispatches() afterwards: the list depends on the options.
   * `masked`: every draw of the request reads the token bitmask that
   * writeMask() last wrote (tokens whose bit is clear are -inf), greedy too.
   * The first request that samples compiles the full chain.
   */
  async begin(options: SamplingOptions, history: readonly number[], drawn = 0, masked = false): Promise<void> {
    const plan = planSampling(options);
    const n = this.target.nVocab;
    if (!(Number.isInteger(drawn) && drawn >= 0 && drawn <= history.length)) {
      throw new ClawError('clw-bad-request', `GpuSampler.begin: drawn = ${drawn} must be an integer from 0 to the history's length`);
    }
    if (!plan.greedy && !this.pipelines.full) {
      this.pipelines.full = await createFullPipelines(this.device, this.layouts, n);
      this.lists = this.recordLists();
    }
    const o = plan.options;
    const window = plan.penalize ? (o.repeatLastN < 0 ? WINDOW_ALL : o.repeatLastN) : 0;
    if (window !== 0 && window !== WINDOW_ALL && window > this.ringHost.length) this.growRing(window);

    const u = new Uint32Array(this.paramsHost);
    const f = new Float32Array(this.paramsHost);
    u[0] = plan.seed;
    u[1] = o.topK > 0 ? Math.min(o.topK, n) : 0;
    u[2] = plan.topPFixed;
    // The history position of draw sample_index is hist_len + sample_index.
    u[3] = history.length - drawn;
    u[4] = window;
    u[5] = plan.penalize ? 1 : 0;
    u[6] = masked ? 1 : 0;
    f[8] = plan.invTemperature;
    f[9] = plan.repeat;
    f[10] = plan.invRepeat;
    f[11] = plan.frequency;
    f[12] = plan.presence;
    f[13] = plan.logMinP;
    this.device.queue.writeBuffer(this.buffers.params, 0, this.paramsHost);

    // Cuts that keep every token (key 0 is below every logit's key) until a select sets them.
    const s = this.stateHost;
    s.fill(0);
    s[7] = 0xffffffff;
    s[9] = 0xffffffff;
    this.device.queue.writeBuffer(this.buffers.state, 0, s);

    if (window !== 0) {
      const counts = this.countsHost;
      counts.fill(0);
      const { start, end } = penaltyWindow(history, o.repeatLastN);
      const ring = this.ringHost;
      for (let i = start; i < end; i++) {
        const id = history[i] >= 0 && history[i] < n ? history[i] : n;
        counts[id]++;
        if (window !== WINDOW_ALL) ring[i % window] = id;
      }
      this.device.queue.writeBuffer(this.buffers.counts, 0, counts);
      if (window !== WINDOW_ALL) this.device.queue.writeBuffer(this.ring, 0, ring, 0, window);
    }

    const topK = o.topK > 0 && o.topK < n;
    const topP = o.topP < 1;
    const full = this.lists.full;
    if (!plan.greedy && !full) throw new ClawError('clw-llm-crash', "GpuSampler.begin: the full chain's kernels are not compiled");
    this.list = plan.greedy || !full ? this.lists.greedy : full[(topK ? 1 : 0) + (topP ? 2 : 0)];
  }

  /**
   * The allowed tokens of the next draw (a request begun with `masked`):
   * nVocab / 8 bytes written into the buffer made at create, ordered before
   * the next submit.
   */
  writeMask(mask: Uint32Array<ArrayBuffer>): void {
    const n = this.target.nVocab;
    if (mask.length !== maskWords(n)) throw new ClawError('clw-llm-crash', `GpuSampler.writeMask: ${mask.length} words for a vocabulary of ${n} (want ${maskWords(n)})`);
    this.device.queue.writeBuffer(this.buffers.counts, (n + 1) * 4, mask);
  }

  /** The dispatches of one draw, replayed every token of the request after the logits are written. */
  dispatches(): readonly RecordedDispatch[] {
    if (!this.list) throw new ClawError('clw-llm-crash', 'GpuSampler.dispatches() before begin()');
    return this.list;
  }

  destroy(): void {
    for (const b of [...Object.values(this.buffers), this.ring]) this.allocator.free(b);
  }

  private growRing(window: number): void {
    let size = this.ringHost.length;
    while (size < window) size *= 2;
    this.allocator.free(this.ring);
    this.ring = this.allocator.allocSync('activations', size * 4, STORAGE, 'sampler window ring');
    this.ringHost = new Uint32Array(size);
    this.bindGroup = this.createBindGroup(false);
    this.argsBindGroup = this.createBindGroup(true);
    this.lists = this.recordLists();
  }

  private createBindGroup(withArgs: boolean): GPUBindGroup {
    const b = this.buffers;
    const t = this.target;
    const buffers = [b.params, t.step, t.logits, b.counts, b.state, b.partials, b.hist, this.ring, t.tokenOut];
    if (withArgs) buffers.push(b.args);
    return this.device.createBindGroup({
      label: withArgs ? 'sampler + args' : 'sampler',
      layout: withArgs ? this.layouts.args : this.layouts.main,
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  }

  private recordLists(): Lists {
    const g = this.pipelines.greedy;
    const p = this.pipelines.full;
    const groups = Math.ceil(this.target.nVocab / (SAMPLE_WG * SAMPLE_ITEMS));
    const d = (pipeline: GPUComputePipeline, wide: boolean, bindGroup = this.bindGroup): RecordedDispatch => ({
      pipeline,
      bindGroup,
      groups: [wide ? groups : 1, 1, 1],
    });
    const indirect = (pipeline: GPUComputePipeline, word: number): RecordedDispatch => ({
      ...d(pipeline, false),
      indirect: { buffer: this.buffers.args, offset: word * 4 },
    });
    /** Key passes as recorded; the last key scan decides whether the id passes run (indirect counts). */
    const select = (passes: SelectPass[], base: number) =>
      passes.flatMap((s, i) =>
        i < KEY_DIGITS
          ? [d(s.hist, true), d(s.scan, false, i === KEY_DIGITS - 1 ? this.argsBindGroup : this.bindGroup)]
          : [indirect(s.hist, base), indirect(s.scan, base + 4)],
      );
    const full = (p: FullPipelines, topK: boolean, topP: boolean) => [
      d(g.argmax, true),
      d(p.stats, false),
      ...(topK ? select(p.topK, ARGS_BASE.topK) : []),
      ...(topP ? select(p.topP, ARGS_BASE.topP) : []),
      d(p.drawArgmax, true),
      d(p.drawFinal, false),
    ];
    return {
      greedy: [d(g.argmax, true), d(g.greedyFinal, false)],
      full: p && [full(p, false, false), full(p, true, false), full(p, false, true), full(p, true, true)],
    };
  }
}

const LAYOUT_ENTRIES: GPUBindGroupLayoutEntry[] = [
  { binding: 0, visibility: 4, buffer: { type: 'uniform' } },
  { binding: 1, visibility: 4, buffer: { type: 'uniform' } },
  { binding: 2, visibility: 4, buffer: { type: 'read-only-storage' } },
  ...[3, 4, 5, 6, 7, 8].map((binding) => ({ binding, visibility: 4, buffer: { type: 'storage' as const } })),
];

interface SamplerLayouts {
  main: GPUBindGroupLayout;
  args: GPUBindGroupLayout;
}

interface GreedyPipelines {
  argmax: GPUComputePipeline;
  greedyFinal: GPUComputePipeline;
}

interface FullPipelines {
  stats: GPUComputePipeline;
  drawArgmax: GPUComputePipeline;
  drawFinal: GPUComputePipeline;
  topK: SelectPass[];
  topP: SelectPass[];
}

interface SelectPass {
  hist: GPUComputePipeline;
  scan: GPUComputePipeline;
}

/** Compiles the sampler's kernels of one vocabulary size (see greedy and full below). */
function pipelineMaker(device: GPUDevice, layouts: SamplerLayouts, nVocab: number) {
  const pipelineLayout = (layout: GPUBindGroupLayout) => device.createPipelineLayout({ label: layout.label, bindGroupLayouts: [layout] });
  const main = pipelineLayout(layouts.main);
  const args = pipelineLayout(layouts.args);
  const base: ShaderDefines = {
    WG: SAMPLE_WG,
    ITEMS: SAMPLE_ITEMS,
    N_VOCAB: nVocab,
    MASK_BASE: nVocab + 1,
    GROUPS: Math.ceil(nVocab / (SAMPLE_WG * SAMPLE_ITEMS)),
    DRAW: false,
    STATS: false,
    MASS: false,
    KEY_PASS: false,
    FIRST_OF_PART: false,
    FIRST_PASS: false,
    LAST: false,
    KEY_LAST: false,
    ARGS_BASE: 0,
    DIGIT_SHIFT: 0,
    HIGH_SHIFT: 0,
  };
  const header = `${samplingWgslConstants()}\n${commonPiece}\n`;
  return (kernel: string, label: string, defines: ShaderDefines, withArgs = false) => {
    const code = assembleKernel(header + kernel, { defines: { ...base, ...defines } });
    const module = device.createShaderModule({ code, label });
    return device.createComputePipelineAsync({ layout: withArgs ? args : main, compute: { module, entryPoint: 'main' }, label });
  };
}

/** Greedy's two kernels (the argmax also starts the full chain). */
async function createGreedyPipelines(device: GPUDevice, layouts: SamplerLayouts, nVocab: number): Promise<GreedyPipelines> {
  const make = pipelineMaker(device, layouts, nVocab);
  const [argmax, greedyFinal] = await Promise.all([make(argmaxKernel, 'sample argmax', {}), make(finalKernel, 'sample greedy', {})]);
  return { argmax, greedyFinal };
}

/** The full chain's kernels, compiled in parallel. */
async function createFullPipelines(device: GPUDevice, layouts: SamplerLayouts, nVocab: number): Promise<FullPipelines> {
  const make = pipelineMaker(device, layouts, nVocab);
  const idDigits = Math.max(1, Math.ceil(Math.log2(Math.max(2, nVocab)) / 8));
  /** The digit passes of one radix select: the key's 4 bytes, then the id's bytes, most significant first. */
  const select = (mass: boolean) =>
    Array.from({ length: KEY_DIGITS + idDigits }, async (_, pass) => {
      const key = pass < KEY_DIGITS;
      const digitShift = key ? 24 - 8 * pass : 8 * (idDigits - 1 - (pass - KEY_DIGITS));
      const firstOfPart = pass === 0 || pass === KEY_DIGITS;
      const defines: ShaderDefines = {
        MASS: mass,
        KEY_PASS: key,
        FIRST_OF_PART: firstOfPart,
        FIRST_PASS: pass === 0,
        LAST: pass === KEY_DIGITS + idDigits - 1,
        KEY_LAST: pass === KEY_DIGITS - 1,
        ARGS_BASE: mass ? ARGS_BASE.topP : ARGS_BASE.topK,
        DIGIT_SHIFT: digitShift,
        HIGH_SHIFT: firstOfPart ? 0 : digitShift + 8,
      };
      const label = `sample ${mass ? 'top-p' : 'top-k'} pass ${pass}`;
      const [hist, scan] = await Promise.all([make(histKernel, `${label} hist`, defines), make(scanKernel, `${label} scan`, defines, pass === KEY_DIGITS - 1)]);
      return { hist, scan };
    });
  const [stats, drawArgmax, drawFinal, topK, topP] = await Promise.all([
    make(finalKernel, 'sample stats', { STATS: true }),
    make(argmaxKernel, 'sample draw', { DRAW: true }),
    make(finalKernel, 'sample draw final', { DRAW: true }),
    Promise.all(select(false)),
    Promise.all(select(true)),
  ]);
  return { stats, drawArgmax, drawFinal, topK, topP };
}
