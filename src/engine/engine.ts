// The public engine: load a GGUF model from a byte source, generate tokens
// as an async iterator, abort, unload. One request runs at a time; others
// queue behind it (queue.ts). Every failure is a ClawError. Loading is in
// loader.ts, a generation request in generation.ts, the KV cache as the
// conversation's memory in context.ts.

import { ClawError, toClawError } from '../errors';
import type { ByteSource } from '../gguf/types';
import { readGguf } from '../gguf/reader';
import { createGpuContext, type GpuContext } from '../gpu/device';
import { createGpuOps, type GpuOpsOptions } from '../gpu/ops';
import type { GpuOps } from '../gpu/ops-api';
import { resolveBudget } from '../model/vram';
import type { Tokenizer } from '../tokenizer';
import { buildCompatibilityReport } from './compat';
import { evalReusingCache } from './context';
import { runGeneration } from './generation';
import { adapterFacts, deviceFacts, loadSession } from './loader';
import { RequestQueue, queuedStream } from './queue';
import { checkGenerateOptions, checkInput, checkLoadOptions } from './request-options';
import type { Session } from './session';
import type { ChatMessage, CompatibilityReport, GenerateEvent, GenerateOptions, LoadOptions, LoadProgress, ModelInfo } from './types';

export interface EngineOptions {
  /** The WebGPU entry point; navigator.gpu by default. */
  gpu?: GPU;
  /** CPU memory for the weights of streamed layers; beyond it they are read from the source on every pass. Default: defaultStreamCacheBytes(). */
  streamCacheBytes?: number;
  /** Kernel choices (tests and before/after benchmarks); defaults suit the adapter. */
  kernels?: GpuOpsOptions;
  /**
   * Compile every kernel when a model loads, in parallel, so the first
   * prompt and token compile nothing (default: on GPUs; off on CPU
   * emulations such as SwiftShader, where compiling takes seconds of the
   * same cores and kernels a run never uses would be compiled too).
   */
  precompile?: boolean;
  /** Decode one token through the recorded, fused decode pass where the model allows (default true); false runs the batch path (tests, before/after benchmarks). */
  decodePass?: boolean;
  /**
   * Ask for a decoded token's 4-byte read-back only when the GPU is due to
   * have it, sleeping until then (default: in Node, where Dawn polls and
   * keeps a CPU core busy while a map is pending; off in browsers).
   */
  readPacing?: boolean;
  /**
   * Bytes of the next reads made from the source while one uploads
   * (src/gguf/read-ahead.ts; default READ_AHEAD_BYTES, 16 MiB; 0 reads only
   * what uploads next). CPU memory during a load is the read being uploaded
   * plus this.
   */
  readAheadBytes?: number;
  /**
   * Longest read of tensors that follow each other in the file: neighbours
   * are read together (src/gguf/read-ahead.ts; default READ_CHUNK_BYTES,
   * 16 MiB; 0 reads each tensor on its own). A read of a Blob costs a round
   * trip through the browser process besides its bytes.
   */
  readChunkBytes?: number;
}

export class ClawEngine {
  private session: Session | null = null;
  /** The loaded model's buffers: freed together on unload or a failed load. */
  private modelBuffers: GpuContext['allocator'] | null = null;
  private readonly queue = new RequestQueue();
  private gpuContext: GpuContext;
  private ops: GpuOps;
  /** Set when the device was lost (driver reset, tab in background): the next request rebuilds it. */
  private lostError: ClawError | null = null;
  private destroyed = false;
  /** What the loaded model came from, to load it again after a device loss. */
  private lastLoad: { source: ByteSource; options: LoadOptions } | null = null;

  /** Context shifts done since the engine was created (for tests and stats). */
  contextShifts = 0;
  /** Device losses the engine recovered from (for tests and stats). */
  deviceRecoveries = 0;

  private constructor(
    ctx: GpuContext,
    private readonly gpu: GPU,
    private readonly options: EngineOptions = {},
  ) {
    this.gpuContext = ctx;
    this.ops = createGpuOps(ctx, ctx.allocator, this.options.kernels);
    this.watchForLoss(ctx);
  }

  get ctx(): GpuContext {
    return this.gpuContext;
  }

  /** The one buffer allocator of the current device. */
  get allocator(): GpuContext['allocator'] {
    return this.gpuContext.allocator;
  }

  private watchForLoss(ctx: GpuContext): void {
    void ctx.lost.then((error) => {
      if (this.gpuContext === ctx && !this.destroyed) this.lostError = error;
    });
  }

  /**
   * After a device loss: a new device, new kernels, and the model loaded
   * again from the same source with the same options. The KV cache starts
   * empty, so the next prompt (the whole conversation) is evaluated again.
   * Returns a warning to pass on, or null when nothing was lost.
   */
  private async recoverFromLoss(reload: boolean): Promise<string | null> {
    const lost = this.lostError;
    if (!lost) return null;
    this.session = null;
    this.modelBuffers = null;
    const ctx = await createGpuContext(this.gpu);
    this.gpuContext = ctx;
    this.ops = createGpuOps(ctx, ctx.allocator, this.options.kernels);
    this.lostError = null;
    this.watchForLoss(ctx);
    this.deviceRecoveries++;
    if (reload && this.lastLoad) {
      await this.loadNow(this.lastLoad.source, this.lastLoad.options);
      return `${lost.message}; the GPU device was recreated and the model loaded again (the conversation is kept)`;
    }
    return `${lost.message}; the GPU device was recreated`;
  }

  /**
   * Writes to a lost device are dropped without an error: a load that ran
   * while the device went away looks finished. Waits for the queue and one
   * task for the loss to be reported, and fails with it.
   */
  private async throwIfLostDuring(ctx: GpuContext): Promise<void> {
    try {
      await ctx.device.queue.onSubmittedWorkDone();
    } catch {
      // A lost device may refuse: the loss itself is what is reported below.
    }
    await new Promise((r) => setTimeout(r, 0));
    if (this.lostError) throw this.lostError;
  }

  static async create(options: EngineOptions = {}): Promise<ClawEngine> {
    const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
    if (!gpu) {
      throw new ClawError('clw-init-fail', 'WebGPU is not available here', {
        fix: 'Use a recent Chrome or Edge (or Firefox/Safari with WebGPU enabled), over https or localhost; on Linux enable chrome://flags/#enable-unsafe-webgpu.',
      });
    }
    const ctx = await createGpuContext(gpu);
    return new ClawEngine(ctx, gpu, options);
  }

  get adapterDescription(): string {
    return this.ctx.adapterDescription;
  }

  /** The compatibility report, from the header alone (no tensor data is read). */
  async inspect(source: ByteSource, options: LoadOptions = {}): Promise<CompatibilityReport> {
    try {
      checkLoadOptions(options);
      await this.recoverFromLoss(false);
      const file = await readGguf(source);
      const adapter = adapterFacts(this.ctx);
      // The plan a load would make: the loaded model's buffers are freed before it plans.
      const live = this.allocator.liveBytes() - (this.modelBuffers?.ownedBytes() ?? 0);
      return buildCompatibilityReport(file, {
        fileName: source.name,
        fileBytes: source.size,
        adapter,
        budgetBytes: resolveBudget(options.vramLimit, adapter),
        load: options,
        device: deviceFacts(this.ctx, live),
      });
    } catch (e) {
      throw toClawError(e);
    }
  }

  load(source: ByteSource, options: LoadOptions = {}, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    try {
      checkLoadOptions(options);
    } catch (e) {
      return Promise.reject(toClawError(e));
    }
    return this.queue.run(async () => {
      try {
        await this.recoverFromLoss(false);
        const info = await this.loadNow(source, options, onProgress);
        await this.throwIfLostDuring(this.ctx);
        return info;
      } catch (e) {
        this.releaseSession();
        throw toClawError(e);
      }
    });
  }

  private async loadNow(source: ByteSource, options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    this.releaseSession();
    this.lastLoad = { source, options };
    const loaded = await loadSession({ ctx: this.ctx, ops: this.ops, streamCacheBytes: this.options.streamCacheBytes, decodePass: this.options.decodePass, readPacing: this.options.readPacing, readAheadBytes: this.options.readAheadBytes, readChunkBytes: this.options.readChunkBytes, precompile: this.options.precompile ?? !this.ctx.cpuEmulated }, source, options, onProgress);
    this.session = loaded.session;
    this.modelBuffers = loaded.buffers;
    return loaded.session.info;
  }

  /** The tokenizer of the loaded model (for tests and the CLI). */
  get tokenizer(): Tokenizer | null {
    return this.session?.tokenizer ?? null;
  }

  /** The loaded model's KV cache: positions it holds now, the context, how often it grew (tests and stats). */
  get kvCacheStats(): { capacity: number; maxCapacity: number; growths: number } | null {
    const kv = this.session?.model.kv;
    return kv ? { capacity: kv.capacity, maxCapacity: kv.maxCapacity, growths: kv.growths } : null;
  }

  /** Whether the loaded model decodes through the recorded, fused decode pass (else the batch path). */
  /** What the load of the current model reported (null before a load). */
  get info(): ModelInfo | null {
    return this.session?.info ?? null;
  }

  get usesDecodePass(): boolean {
    return !!this.session?.model.decode;
  }

  /** Streamed-layer uploads and their bytes since the model loaded; null when every layer is resident (tests and stats). */
  get streamStats(): { uploads: number; bytes: number } | null {
    const st = this.session?.model.streamer;
    return st ? { uploads: st.uploads, bytes: st.streamedBytes } : null;
  }

  get gpuBytesPeak(): number {
    return this.allocator.peakBytes;
  }

  /**
   * Streams a continuation of a raw prompt, or an assistant reply to chat
   * messages. The request joins the queue at the first next(); it ends (and
   * frees the queue) when the iterator finishes, is returned, is dropped, or
   * `options.signal` aborts.
   */
  generate(input: string | ChatMessage[], options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    try {
      checkInput(input);
      checkGenerateOptions(options);
    } catch (e) {
      // A bad request fails at its first next(), without waiting for a turn.
      const error = toClawError(e);
      return (async function* (): AsyncGenerator<GenerateEvent> {
        throw error;
      })();
    }
    return queuedStream<GenerateEvent>(this.queue, (emit, signal) => this.generateNow(input, { ...options, signal }, emit), {
      signal: options.signal,
      toError: toClawError,
    });
  }

  private async generateNow(input: string | ChatMessage[], options: GenerateOptions, emit: (e: GenerateEvent) => Promise<void>): Promise<void> {
    const recovered = await this.recoverFromLoss(true);
    if (recovered) await emit({ type: 'warning', code: 'clw-device-lost', message: recovered });
    const s = this.session;
    if (!s) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first.' });
    await runGeneration(s, input, options, emit, { onContextShift: () => this.contextShifts++ });
  }

  /**
   * The next-token logits after `tokens` (reusing the KV cache of a common
   * prefix). For conformance tests and scoring; not streamed.
   */
  nextTokenLogits(tokens: readonly number[]): Promise<Float32Array> {
    return this.queue.run(async () => {
      await this.recoverFromLoss(true);
      const s = this.session;
      if (!s) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first.' });
      if (tokens.length === 0 || tokens.length > s.ctxSize) throw new ClawError('clw-bad-request', `expected 1..${s.ctxSize} tokens, got ${tokens.length}`);
      return (await evalReusingCache(s, tokens)).logits;
    });
  }

  unload(): Promise<void> {
    return this.queue.run(async () => {
      this.releaseSession();
      this.lastLoad = null;
    });
  }

  private releaseSession(): void {
    this.session = null;
    this.modelBuffers?.freeAll();
    this.modelBuffers = null;
  }

  /** Frees everything, including the device. */
  async destroy(): Promise<void> {
    await this.unload();
    this.destroyed = true;
    this.ctx.device.destroy();
  }
}
