// A loaded model: weights (resident, or streamed through reusable buffers),
// a KV cache that grows as positions are used, scratch buffers, and the one
// operation the engine needs: evaluate tokens at positions, get the logits
// of the last one.

import { ClawError } from '../errors';
import { STORAGE_USAGE, type GpuAllocator } from '../gpu/allocator';
import { reportedLoss, type ActBuffer, type GpuOps } from '../gpu/ops-api';
import { layerAttention, type Hyperparams } from './hparams';
import type { KeyRope, KvCache } from './kv-cache';
import type { LayerStreamer } from './streaming';
import type { ModelWeights } from './weights';
import { recordBlock, recordEmbedding, recordOutput, type Scratch } from './forward';
import { deltaNetScratchLengths, qwen35TokenWidth } from './arch/qwen35';
import { DecodePass, decodePassUnsupported } from './decode-pass';
import { TokenPipeline } from './token-pipeline';
import { GpuSampler } from '../gpu/gpu-sampler';
import { gemma4ScratchLayout, type PerLayerTokenRows } from './arch/gemma4';

/**
 * Resident layers recorded into one submission. Bounds the dispatches per
 * submit, and so the kernels' uniform ring (engine-memory.ts reserves two
 * 64 KiB ring buffers for it).
 */
export const LAYERS_PER_SUBMIT = 8;

type ScratchField = Exclude<keyof Scratch, 'capacity' | 'ids'>;

/** Every activation buffer of the scratch and its length in f32 (one place, for allocation and for the planner). */
function scratchLayout(hp: Hyperparams, capacity: number): [ScratchField, number][] {
  const qDim = hp.nHeads * hp.headDim;
  return [
    ['x', capacity * hp.nEmbd],
    ['xb', capacity * Math.max(hp.nEmbd, qDim)],
    ['q', capacity * qDim],
    ['k', capacity * hp.kvDim],
    ['v', capacity * hp.kvDim],
    ['attn', capacity * qDim],
    // lfm2's short-convolution layers keep in_proj's x third (nEmbd wide) here.
    ['gate', capacity * Math.max(hp.nFf, hp.shortConvKernel > 0 ? hp.nEmbd : 0)],
    ['up', capacity * hp.nFf],
    ['last', hp.nEmbd],
    ['logits', hp.nVocab],
    // The decode pass's q, k, v side by side (the widest layer's, gemma4), an lfm2 convolution's [b | c | x] or qwen35's (arch/qwen35.ts).
    ['qkv', hp.deltaNet ? qwen35TokenWidth(hp) : Math.max(qDim + 2 * hp.kvDim, hp.shortConvKernel > 0 ? 3 * hp.nEmbd : 0)],
    ...gemma4ScratchLayout(hp, capacity),
    ...(Object.entries(deltaNetScratchLengths(hp, capacity)) as [ScratchField, number][]),
  ];
}

function idsBytes(capacity: number): number {
  return Math.max(16, capacity * 4);
}

function actBytes(length: number): number {
  return Math.max(4, length * 4);
}

/** Bytes createScratch allocates for a batch of `capacity` tokens. */
export function scratchBytes(hp: Hyperparams, capacity: number): number {
  return idsBytes(capacity) + scratchLayout(hp, capacity).reduce((sum, [, length]) => sum + Math.ceil(actBytes(length) / 4) * 4, 0);
}

export async function createScratch(allocator: GpuAllocator, hp: Hyperparams, capacity: number): Promise<Scratch> {
  const made: GPUBuffer[] = [];
  try {
    const ids = await allocator.alloc('activations', idsBytes(capacity), STORAGE_USAGE, 'token ids');
    made.push(ids);
    const acts: Partial<Record<ScratchField, ActBuffer>> = {};
    for (const [field, length] of scratchLayout(hp, capacity)) {
      const buffer = await allocator.alloc('activations', actBytes(length), STORAGE_USAGE, field);
      made.push(buffer);
      acts[field] = { buffer, length };
    }
    return { capacity, ids, ...(acts as Record<ScratchField, ActBuffer>) };
  } catch (e) {
    for (const b of made) allocator.free(b);
    throw e;
  }
}

/**
 * How layer l's keys were rotated, when a K-shift can rotate them again by
 * adding positions; null otherwise (the engine then re-evaluates). Angles
 * are linear in the position for every rope here except YaRN, whose
 * magnitude correction the kernel derives from the (then negative) scale.
 */
export function keyRopeFor(hp: Hyperparams, w: ModelWeights): ((layer: number) => KeyRope) | null {
  // gemma4's layers differ in head size and rotary width, and some share a cache: it re-evaluates instead.
  if (hp.ropeScaling.type === 'yarn' || hp.gemma4) return null;
  return (layer) => {
    const { freqBase, freqScale, rope } = layerAttention(hp, layer);
    return { headDim: hp.headDim, nRot: rope ? hp.ropeDim : 0, freqBase, freqScale, neox: hp.traits.ropeNeox, freqFactors: w.ropeFreqs };
  };
}

export interface LlamaModelOptions {
  /** Streams the non-resident layers; null when every layer is resident. */
  streamer?: LayerStreamer | null;
  /**
   * Where the recorded decode pass allocates (the model's scope); without
   * it, or with `decodePass: false`, one token runs through the batch path.
   */
  allocator?: GpuAllocator;
  decodePass?: boolean;
  /** Pace the token pipeline's read-backs (EngineOptions.readPacing; default where awaiting a GPU promise polls). */
  readPacing?: boolean;
  /** prepare() compiles every kernel at load (default true); false leaves them to their first use. */
  precompile?: boolean;
  /** gemma4 with its per-layer table left in the file: its rows, read and uploaded before each batch and decode step. */
  perLayerRows?: PerLayerTokenRows;
}

export class LlamaModel {
  readonly streamer: LayerStreamer | null;
  /** The recorded one-token pass; null when the model decodes through the batch path (streamed layers, unsupported shapes, or switched off). */
  readonly decode: DecodePass | null;
  /** Sampling on the GPU, pipelined (see tokenPipeline()). */
  private pipeline: TokenPipeline | null = null;
  private readonly allocator: GpuAllocator | undefined;
  private readonly precompile: boolean;
  private readonly readPacing: boolean | undefined;
  private readonly perLayerRows: PerLayerTokenRows | undefined;

  constructor(
    readonly ops: GpuOps,
    readonly hp: Hyperparams,
    readonly weights: ModelWeights,
    readonly kv: KvCache,
    readonly scratch: Scratch,
    o: LlamaModelOptions = {},
  ) {
    this.streamer = o.streamer ?? null;
    const fused = o.allocator && o.decodePass !== false && !this.streamer && decodePassUnsupported(hp, weights) === null;
    this.decode = fused ? new DecodePass(ops, o.allocator!, hp, weights, kv, scratch) : null;
    this.allocator = o.allocator;
    this.precompile = o.precompile !== false;
    this.readPacing = o.readPacing;
    this.perLayerRows = o.perLayerRows;
  }

  /**
   * At load (unless precompile is off): compiles every kernel of the
   * prefill path, records the decode pass and makes the GPU sampler, all in
   * parallel, so the first prompt and token compile nothing; then, with
   * GpuOpsOptions.matvec 'auto' (precompile or not), the decode pass's
   * matvec search.
   */
  async prepare(): Promise<void> {
    // A matvec search (GpuOpsOptions.matvec 'auto') times recorded passes: after the other kernels have compiled, and with or without precompile.
    const search = this.decode !== null && this.ops.matvecAutotune !== null;
    if (!this.precompile) {
      if (search) await this.decode!.prepare();
      return;
    }
    const { ops, hp, weights: w, kv, scratch: s } = this;
    const batchKernels = ops.precompile(() => {
      // Every kernel a batch of 2 and (without a decode pass) of 1 token uses; nothing runs.
      for (const n of this.decode ? [Math.min(2, s.capacity)] : [Math.min(2, s.capacity), 1]) {
        recordEmbedding(ops, hp, w, s, n);
        for (let l = 0; l < hp.nLayers; l++) recordBlock(ops, hp, w, kv, s, l, n, 0);
        recordOutput(ops, hp, w, s, n);
      }
    });
    await Promise.all([batchKernels, search ? null : this.decode?.prepare(), this.tokenPipeline()]);
    if (search) await this.decode!.prepare();
  }

  /**
   * The GPU sampler and the pipelined token loop, made at the first
   * generation that samples on the GPU (its kernels take a while to compile
   * on CPU emulations, and logits-only use never needs them); null without
   * a decode pass. With precompile (at load) the sampler compiles its full
   * chain too; else greedy now and the rest at the first request that samples.
   */
  async tokenPipeline(): Promise<TokenPipeline | null> {
    if (this.pipeline || !this.decode || !this.allocator) return this.pipeline;
    const sampler = await GpuSampler.create(this.ops.device, this.allocator, {
      logits: this.scratch.logits.buffer,
      step: this.decode.stepBuffer,
      tokenOut: this.scratch.ids,
      nVocab: this.hp.nVocab,
    }, { full: this.precompile });
    this.pipeline = new TokenPipeline(this.ops, this.allocator, this.decode, sampler, this.scratch, this.kv, this.readPacing);
    return this.pipeline;
  }

  /** Makes the KV cache hold `positions` positions; false when memory does not allow (the context is then what it holds). */
  reserve(positions: number): Promise<boolean> {
    return this.kv.reserve(positions);
  }

  /**
   * Whether the token pipeline may run steps ahead of the ids read back: not
   * with gemma4's per-layer table in the file, whose rows for a token are
   * read once its id is known (beforeStep); where the table is on the GPU,
   * the decode pass gathers them itself. A recurrent state (lfm2, qwen35)
   * may: the step past a stop is taken back (rewindState).
   */
  get runsAhead(): boolean {
    return this.perLayerRows === undefined;
  }

  /**
   * After decoding ran a step past what was kept: a recurrent state goes
   * back to `positions` absorbed (at most one step back: KvCache.rewindState;
   * further, it is forgotten and the next prompt runs from 0). Nothing
   * without a state: the rows past what the cache is said to hold are
   * written over later.
   */
  rewindState(positions: number): void {
    this.kv.rewindState(positions);
  }

  /** What a decode step needs before it evaluates `id` on the GPU: gemma4's per-layer table rows of that token, from the file (nothing for other models, or where the table is on the GPU). */
  async beforeStep(id: number): Promise<void> {
    await this.perLayerRows?.uploadOne(this.ops.device, id, this.scratch.pleRows!);
  }

  /** Whether shiftCache can drop positions in place (else the caller re-evaluates the kept tokens). */
  get canShiftInPlace(): boolean {
    return !this.kv.hasRecurrentState && keyRopeFor(this.hp, this.weights) !== null;
  }

  /**
   * Positions a recurrent state has absorbed (lfm2's conv state, qwen35's
   * delta-net state), or null when the model has none; -1 after a failed
   * pass. Such a model can only continue from exactly there, or start again
   * at position 0.
   */
  get recurrentPosition(): number | null {
    return this.kv.hasRecurrentState ? this.kv.stateSeen : null;
  }

  /** Writes logits kept on the CPU where the last pass leaves them, for the GPU sampler (a prompt served from a saved state runs no pass). */
  putLogits(logits: Float32Array<ArrayBuffer>): void {
    this.ops.device.queue.writeBuffer(this.scratch.logits.buffer, 0, logits);
  }

  /** Keeps a copy of the recurrent state where it is now (the end of a prompt), replacing the last one; nothing without a state. */
  saveRecurrentState(): void {
    this.kv.saveState();
  }

  /** Puts the saved recurrent state back; the position it is at then, or -1 (nothing changed) when none is saved. */
  restoreRecurrentState(): number {
    return this.kv.restoreState();
  }

  /** Context shift in the cache: keep 0..nKeep-1, drop `drop` positions after them, move the rest down. */
  async shiftCache(nKeep: number, drop: number, used: number): Promise<void> {
    const rope = keyRopeFor(this.hp, this.weights);
    if (!rope) throw new ClawError('clw-bad-request', `a ${this.hp.arch} model cannot shift its KV cache in place`);
    await this.withGpuErrors('a context shift', () => this.kv.shift(this.ops, rope, this.hp.nKvHeads, nKeep, drop, used));
  }

  /** Evaluates tokens at positions startPos.. in batches; returns the last token's logits. */
  async eval(tokens: readonly number[], startPos: number): Promise<Float32Array> {
    if (tokens.length === 0) throw new Error('eval needs at least one token');
    const end = startPos + tokens.length;
    if (!(await this.kv.reserve(end))) {
      throw new ClawError('clw-gpu-oom', `the KV cache cannot hold ${end} positions (it holds ${this.kv.capacity} of a ${this.kv.maxCapacity}-token context)`, {
        fix: 'Shorten the conversation or the context size, or raise the VRAM budget.',
      });
    }
    const B = this.scratch.capacity;
    this.kv.beginPass(startPos);
    const logits = await this.withGpuErrors('a forward pass', async () => {
      if (tokens.length === 1 && this.decode) {
        this.ops.device.queue.writeBuffer(this.scratch.ids, 0, new Uint32Array(tokens));
        await this.beforeStep(tokens[0]);
        this.decode.run(startPos, 0);
        return this.ops.read(this.scratch.logits, 0, this.hp.nVocab);
      }
      for (let i = 0; i < tokens.length; i += B) {
        const chunk = tokens.slice(i, i + B);
        this.ops.device.queue.writeBuffer(this.scratch.ids, 0, new Uint32Array(chunk));
        await this.perLayerRows?.upload(this.ops.device, chunk, this.scratch.pleRows!);
        await this.recordPass(chunk.length, startPos + i);
      }
      return this.ops.read(this.scratch.logits, 0, this.hp.nVocab);
    });
    this.kv.endPass(end);
    return logits;
  }

  /**
   * One forward pass of n tokens: resident layers in submissions of up to
   * LAYERS_PER_SUBMIT layers; each streamed layer in its own submission,
   * its weights written into the slots just before (queue order keeps the
   * previous layer's reads first).
   */
  private async recordPass(n: number, startPos: number): Promise<void> {
    const { ops, hp, weights: w, kv, scratch: s } = this;
    ops.begin();
    recordEmbedding(ops, hp, w, s, n);
    let inSubmit = 0;
    for (let l = 0; l < hp.nLayers; l++) {
      const streamed = this.streamer?.isStreamed(l) ?? false;
      if (streamed || inSubmit === LAYERS_PER_SUBMIT) {
        ops.submit();
        inSubmit = 0;
        if (streamed) await this.streamer!.upload(l);
        ops.begin();
      }
      recordBlock(ops, hp, w, kv, s, l, n, startPos);
      inSubmit++;
    }
    recordOutput(ops, hp, w, s, n);
    ops.submit();
  }

  /**
   * Any GPU error inside `what` is a bug or a lost device: a typed error
   * instead of garbage logits. After any failure a recurrent state is not
   * trusted (the token pipeline advances it step by step as it submits).
   */
  async withGpuErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.checkGpuErrors(what, fn);
    } catch (e) {
      this.kv.forgetState();
      throw e;
    }
  }

  private async checkGpuErrors<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const device = this.ops.device;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    let result: T | undefined;
    let failure: unknown;
    let failed = false;
    /** A failure thrown by the WebGPU API itself (not one of ours): a lost device shows up so. */
    let gpuFailure = false;
    try {
      result = await fn();
    } catch (e) {
      failure = e;
      failed = true;
      gpuFailure = !(e instanceof ClawError);
    }
    let scopes: (GPUError | null)[] = [null, null, null];
    try {
      scopes = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
    } catch {
      // A lost device may refuse to give its scopes back (wgpu); the loss is reported below.
      gpuFailure = true;
    }
    const [internal, validation, oom] = scopes;
    // Work on a device that is going away fails in every way (wgpu throws from
    // submit and map before it reports the loss): report the loss, not its symptoms.
    if (gpuFailure || oom || validation || internal || this.ops.lost) {
      const lost = await reportedLoss(this.ops, gpuFailure ? 1000 : 100);
      if (lost) throw lost;
    }
    if (oom) throw new ClawError('clw-gpu-oom', `GPU out of memory during ${what}: ${oom.message}`);
    const err = validation ?? internal;
    if (err) throw new ClawError('clw-llm-crash', `GPU error during ${what}: ${err.message.split('\n')[0]}`, { details: { gpuMessage: err.message } });
    if (failed) throw failure;
    return result as T;
  }
}
