// The public engine: load a GGUF model from a byte source, generate tokens
// as an async iterator, abort, unload. One request runs at a time; others
// queue behind it. Every failure is a ClawError.

import { ClawError, toClawError } from '../errors';
import type { ByteSource, GgufFile } from '../gguf/types';
import { readGguf } from '../gguf/reader';
import { createGpuContext, resolveDtype, type GpuContext } from '../gpu/device';
import { createGpuOps, createWeightUploader } from '../gpu/ops';
import type { GpuOps } from '../gpu/ops-api';
import { readHyperparams, type Hyperparams } from '../model/hparams';
import { loadModelWeights } from '../model/weights';
import { LlamaModel, createScratch } from '../model/model';
import { KvCache, kvTypeFor } from '../model/kv-cache';
import { planEngineMemory, shrinkEnginePlan, type EnginePlan, type EnginePlanOptions } from '../model/engine-memory';
import { LayerStreamer, defaultStreamCacheBytes } from '../model/streaming';
import { DEFAULT_BATCH_SIZE } from '../model/plan';
import { resolveBudget } from '../model/vram';
import { dequantize } from '../quant';
import { createTokenizer, type Tokenizer } from '../tokenizer';
import { buildCompatibilityReport } from './compat';
import { chatFormatterFor, type ChatFormatter } from './chat';
import { createSampler } from './sampler';
import { StopMatcher } from './stop';
import type { ChatMessage, CompatibilityReport, GenerateEvent, GenerateOptions, LoadOptions, LoadProgress, ModelInfo } from './types';

export interface EngineOptions {
  /** The WebGPU entry point; navigator.gpu by default. */
  gpu?: GPU;
  /** CPU memory for the weights of streamed layers; beyond it they are read from the source on every pass. Default: defaultStreamCacheBytes(). */
  streamCacheBytes?: number;
}

interface Session {
  file: GgufFile;
  hp: Hyperparams;
  model: LlamaModel;
  tokenizer: Tokenizer;
  chat: ChatFormatter;
  ctxSize: number;
  /** Tokens whose keys and values are in the KV cache, position by position. */
  cached: number[];
  info: ModelInfo;
}

/** KV cache element type when LoadOptions.kvType is absent (llama.cpp's default too). */
const DEFAULT_KV_TYPE = 'f16';

export class ClawEngine {
  private session: Session | null = null;
  /** The loaded model's buffers: freed together on unload or a failed load. */
  private modelBuffers: GpuContext['allocator'] | null = null;
  private tail: Promise<void> = Promise.resolve();
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
    this.ops = createGpuOps(ctx);
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
    this.ops = createGpuOps(ctx);
    this.lostError = null;
    this.watchForLoss(ctx);
    this.deviceRecoveries++;
    if (reload && this.lastLoad) {
      await this.loadNow(this.lastLoad.source, this.lastLoad.options);
      return `${lost.message}; the GPU device was recreated and the model loaded again (the conversation is kept)`;
    }
    return `${lost.message}; the GPU device was recreated`;
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

  /** Runs `fn` after every earlier request has finished (the request queue). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private adapterFacts() {
    const l = this.ctx.device.limits;
    return {
      description: this.ctx.adapterDescription,
      features: this.ctx.features,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
    };
  }

  /** The compatibility report, from the header alone (no tensor data is read). */
  async inspect(source: ByteSource, options: LoadOptions = {}): Promise<CompatibilityReport> {
    try {
      await this.recoverFromLoss(false);
      const file = await readGguf(source);
      const adapter = this.adapterFacts();
      return buildCompatibilityReport(file, {
        fileName: source.name,
        fileBytes: source.size,
        adapter,
        budgetBytes: resolveBudget(options.vramLimit, adapter),
        ctxSize: options.ctxSize,
        kvType: options.kvType,
        dtype: options.dtype,
      });
    } catch (e) {
      throw toClawError(e);
    }
  }

  load(source: ByteSource, options: LoadOptions = {}, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    return this.exclusive(async () => {
      try {
        await this.recoverFromLoss(false);
        return await this.loadNow(source, options, onProgress);
      } catch (e) {
        this.releaseSession();
        throw toClawError(e);
      }
    });
  }

  private async loadNow(source: ByteSource, options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo> {
    const t0 = performance.now();
    this.releaseSession();
    this.lastLoad = { source, options };
    onProgress?.({ phase: 'parse', fraction: 0 });
    const file = await readGguf(source);
    const hp = readHyperparams(file);
    const tokenizer = createTokenizer(file);

    // Plan from the header before anything is allocated; the allocator then
    // enforces the same budget on every buffer, the kernels' own included.
    onProgress?.({ phase: 'plan', fraction: 0 });
    const adapter = this.adapterFacts();
    const budgetBytes = resolveBudget(options.vramLimit, adapter);
    const batch = Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE));
    const kvDynamic = options.kvCacheDynamic ?? true;
    const kvType = kvTypeFor(options.kvType ?? DEFAULT_KV_TYPE, hp.kvDim);
    const { dtype, note: dtypeNote } = resolveDtype(options.dtype, this.ctx.features);
    const memory: EnginePlanOptions = {
      budgetBytes,
      liveBytes: this.allocator.liveBytes(),
      liveByPurpose: this.allocator.liveBytesByPurpose(),
      ctxSize: options.ctxSize,
      nGpuLayers: options.nGpuLayers,
      batchSize: batch,
      kvDynamic,
      kvType,
      maxPartBytes: Math.min(this.ctx.limits.maxStorageBufferBindingSize, this.ctx.limits.maxBufferSize),
    };
    let planned = planEngineMemory(file, hp, memory);
    if (!planned.fits) {
      throw new ClawError('clw-gpu-oom', `the model does not fit the VRAM budget: ${planned.text}${planned.plan.reason ? ` (${planned.plan.reason})` : ''}`, {
        fix: 'Raise the VRAM budget, lower the context size, or pick a smaller or more quantized model.',
        details: { plan: planned.plan, engineBytes: planned.bytes },
      });
    }
    onProgress?.({ phase: 'plan', fraction: 1, message: planned.text });
    this.allocator.budgetBytes = budgetBytes;
    this.ops.dtype = dtype;

    // An allocation the GPU (or the budget) refuses shrinks the plan and
    // retries; clw-gpu-oom only when even the smallest plan fails.
    const retries: string[] = [];
    let model: LlamaModel;
    for (;;) {
      try {
        model = await this.allocateModel(file, source, hp, planned, batch, kvDynamic, onProgress);
        break;
      } catch (e) {
        this.releaseSession();
        const error = toClawError(e);
        if (error.code !== 'clw-gpu-oom') throw error;
        const smaller = shrinkEnginePlan(planned, file, hp, memory);
        if (!smaller) {
          throw new ClawError('clw-gpu-oom', `no plan fits: even ${planned.text} failed to allocate (${error.message})`, {
            fix: 'Raise the VRAM budget, lower the context size, or pick a smaller or more quantized model.',
            details: { plan: planned.plan, cause: error.message, retries },
          });
        }
        retries.push(`allocation failed (${error.message}); retried with ${smaller.text}`);
        planned = smaller;
        onProgress?.({ phase: 'plan', fraction: 1, message: `retrying: ${planned.text}` });
      }
    }
    const info: ModelInfo = {
      architecture: hp.arch,
      nLayers: hp.nLayers,
      nEmbd: hp.nEmbd,
      nVocab: hp.nVocab,
      ctxSize: planned.plan.ctxSize,
      adapter: this.ctx.adapterDescription,
      gpuBytesPeak: this.allocator.peakBytes,
      loadMs: performance.now() - t0,
      plan: planned.text,
      planNotes: [...planned.notes, ...retries, ...(dtypeNote ? [dtypeNote] : [])],
      residentLayers: planned.plan.residentLayers,
      budgetBytes,
      kvCacheDynamic: kvDynamic,
      dtype,
    };
    const kv = model.kv;
    this.session = {
      file,
      hp,
      model,
      tokenizer,
      chat: chatFormatterFor(file),
      // The context is what the KV cache may hold; it drops if growing the cache runs out of memory.
      get ctxSize() {
        return kv.maxCapacity;
      },
      cached: [],
      info,
    };
    onProgress?.({ phase: 'ready', fraction: 1, message: planned.text });
    return info;
  }

  /** Allocates everything of one plan inside a fresh scope (freed by releaseSession on any failure). */
  private async allocateModel(
    file: GgufFile,
    source: ByteSource,
    hp: Hyperparams,
    planned: EnginePlan,
    batch: number,
    kvDynamic: boolean,
    onProgress?: (p: LoadProgress) => void,
  ): Promise<LlamaModel> {
    const buffers = this.allocator.scope();
    this.modelBuffers = buffers;
    const plan = planned.plan;
    const streamer =
      plan.residentLayers < hp.nLayers
        ? new LayerStreamer(this.ctx.device, buffers, file, source, {
            residentLayers: plan.residentLayers,
            maxPartBytes: Math.min(this.ctx.limits.maxStorageBufferBindingSize, this.ctx.limits.maxBufferSize),
            cpuCacheBytes: this.options.streamCacheBytes ?? defaultStreamCacheBytes(),
          })
        : null;
    const uploader = createWeightUploader(this.ctx, buffers);
    const weights = await loadModelWeights(file, source, hp, streamer ? streamer.wrap(uploader) : uploader, dequantize, {
      contextSize: plan.ctxSize,
      onBytes: (loaded, total) => onProgress?.({ phase: 'upload', fraction: total ? loaded / total : 1, loadedBytes: loaded, totalBytes: total }),
    });
    await streamer?.allocateSlots();
    const kv = await KvCache.create(buffers, this.ctx.device, {
      nLayers: hp.nLayers,
      kvDim: hp.kvDim,
      maxCapacity: plan.ctxSize,
      dynamic: kvDynamic,
      initialPositions: planned.kvChunk,
      growthChunk: planned.kvChunk,
      kvType: planned.kvType,
    });
    const scratch = await createScratch(buffers, hp, Math.min(batch, plan.ctxSize));
    return new LlamaModel(this.ops, hp, weights, kv, scratch, streamer?.hasStreamedLayers ? streamer : null);
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

  get gpuBytesPeak(): number {
    return this.allocator.peakBytes;
  }

  /** Streams a continuation of a raw prompt, or an assistant reply to chat messages. */
  generate(input: string | ChatMessage[], options: GenerateOptions = {}): AsyncGenerator<GenerateEvent> {
    // The generator body runs inside the request queue: a second generate()
    // waits until the first one has finished or was abandoned.
    const events: GenerateEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    let failure: unknown = null;
    let consumerGone = false;
    let resumeProducer: (() => void) | null = null;

    const push = async (e: GenerateEvent) => {
      events.push(e);
      wake?.();
      // Back-pressure: wait until the consumer took it.
      while (events.length > 0 && !consumerGone) await new Promise<void>((r) => (resumeProducer = r));
    };
    void this.exclusive(async () => {
      try {
        await this.generateNow(input, options, push, () => consumerGone);
      } catch (e) {
        failure = toClawError(e);
      } finally {
        finished = true;
        wake?.();
      }
    });

    const self = async function* (): AsyncGenerator<GenerateEvent> {
      try {
        for (;;) {
          if (events.length > 0) {
            const e = events.shift()!;
            const r = resumeProducer;
            resumeProducer = null;
            r?.();
            yield e;
            continue;
          }
          if (finished) {
            if (failure) throw failure;
            return;
          }
          await new Promise<void>((r) => (wake = r));
          wake = null;
        }
      } finally {
        consumerGone = true;
        const r = resumeProducer;
        resumeProducer = null;
        r?.();
      }
    };
    return self();
  }

  private promptTokens(s: Session, input: string | ChatMessage[], options: GenerateOptions): number[] {
    if (typeof input === 'string') {
      return s.tokenizer.encode(input, { addSpecial: options.addBos ?? true });
    }
    const tk = s.tokenizer;
    const text = s.chat.render(input, {
      bosToken: tk.bosId !== null ? tk.tokenText(tk.bosId) : '',
      eosToken: tk.eosId !== null ? tk.tokenText(tk.eosId) : '',
    });
    // Templates write BOS themselves where the model wants it; avoid a double BOS.
    const ids = tk.encode(text, { addSpecial: true, parseSpecial: true });
    if (ids.length >= 2 && tk.bosId !== null && ids[0] === tk.bosId && ids[1] === tk.bosId) ids.shift();
    return ids;
  }

  private async generateNow(
    input: string | ChatMessage[],
    options: GenerateOptions,
    emit: (e: GenerateEvent) => Promise<void>,
    abandoned: () => boolean,
  ): Promise<void> {
    const recovered = await this.recoverFromLoss(true);
    if (recovered) await emit({ type: 'warning', code: 'clw-device-lost', message: recovered });
    const s = this.session;
    if (!s) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first.' });
    const signal = options.signal;
    const maxTokens = options.maxTokens ?? 256;
    let tokens = this.promptTokens(s, input, options);
    if (tokens.length === 0) throw new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt.' });
    for (const id of tokens) {
      if (id < 0 || id >= s.hp.nVocab) throw new ClawError('clw-model-invalid', `token id ${id} is outside the vocabulary of ${s.hp.nVocab}`);
    }
    const nKeep = s.tokenizer.addBos && tokens[0] === s.tokenizer.bosId ? 1 : 0;
    // Grow the KV cache for the prompt up front: if memory stops it short, the context is what it holds.
    await s.model.reserve(Math.min(tokens.length, s.ctxSize));
    // A prompt longer than the context keeps its start (BOS) and its end.
    const room = Math.max(1, s.ctxSize - Math.min(maxTokens, Math.floor(s.ctxSize / 4)));
    if (tokens.length > room) {
      const dropped = tokens.length - room;
      tokens = [...tokens.slice(0, nKeep), ...tokens.slice(nKeep + dropped)];
      await emit({ type: 'warning', code: 'clw-ctx-overflow', message: `the prompt has ${tokens.length + dropped} tokens but the context holds ${s.ctxSize}: dropped ${dropped} tokens after the start` });
    }
    if (typeof input !== 'string' && s.chat.problem) await emit({ type: 'warning', code: 'clw-model-invalid', message: s.chat.problem });
    await emit({ type: 'prompt', tokenIds: tokens.slice() });

    const t0 = performance.now();
    let { logits, reused: reuse } = await this.evalReusingCache(s, tokens, signal);
    const t1 = performance.now();

    const sampler = createSampler(options);
    const history = tokens.slice();
    const decoder = s.tokenizer.createDecoder();
    const stops = new StopMatcher(options.stop ?? []);
    let nGenerated = 0;
    let reason: 'stop' | 'length' | 'abort' = 'length';
    while (nGenerated < maxTokens) {
      if (signal?.aborted || abandoned()) {
        reason = 'abort';
        break;
      }
      const id = sampler.sample(logits, history);
      if (s.tokenizer.eogIds.has(id)) {
        reason = 'stop';
        break;
      }
      history.push(id);
      nGenerated++;
      const { emit: text, stopped } = stops.push(decoder.push(id));
      await emit({ type: 'token', tokenId: id, text });
      if (stopped) {
        reason = 'stop';
        break;
      }
      if (nGenerated >= maxTokens) break;
      // Grow the KV cache for the next token; when the context is full (or memory allows no more), shift it.
      if (s.cached.length >= s.ctxSize || !(await s.model.reserve(s.cached.length + 1))) await this.shiftContext(s, nKeep, emit);
      logits = await s.model.eval([id], s.cached.length);
      s.cached.push(id);
    }
    const tail = reason === 'stop' ? '' : stops.flush() + decoder.flush();
    if (tail) await emit({ type: 'token', tokenId: -1, text: tail });
    const t2 = performance.now();
    const nPrompt = tokens.length - reuse;
    await emit({
      type: 'done',
      reason,
      stats: {
        nPrompt: tokens.length,
        nCached: reuse,
        nGenerated,
        prefillMs: t1 - t0,
        decodeMs: t2 - t1,
        prefillTokPerS: nPrompt > 0 ? (nPrompt * 1000) / Math.max(1e-3, t1 - t0) : 0,
        decodeTokPerS: nGenerated > 1 ? ((nGenerated - 1) * 1000) / Math.max(1e-3, t2 - t1) : 0,
      },
    });
  }

  /**
   * Evaluates `tokens`, reusing the KV cache of the prefix they share with
   * what is cached (earlier turns of a conversation). The last token always
   * runs, since its logits are the result.
   */
  private async evalReusingCache(s: Session, tokens: readonly number[], signal?: AbortSignal): Promise<{ logits: Float32Array; reused: number }> {
    let reused = 0;
    while (reused < s.cached.length && reused < tokens.length && s.cached[reused] === tokens[reused]) reused++;
    if (reused === tokens.length) reused--;
    s.cached.length = reused;
    const logits = await this.evalChunked(s, tokens.slice(reused), reused, signal);
    s.cached.push(...tokens.slice(reused));
    return { logits, reused };
  }

  private async evalChunked(s: Session, tokens: number[], startPos: number, signal?: AbortSignal): Promise<Float32Array> {
    const B = s.model.scratch.capacity;
    let logits: Float32Array | null = null;
    for (let i = 0; i < tokens.length; i += B) {
      signal?.throwIfAborted();
      logits = await s.model.eval(tokens.slice(i, i + B), startPos + i);
    }
    return logits!;
  }

  /**
   * The context is full: keep the first nKeep tokens and the newer half of
   * the rest (llama.cpp's context shift). The cache drops the old rows in
   * place and re-rotates the surviving keys; where the rope cannot be
   * re-applied (YaRN), or memory is short, the kept tokens are evaluated again.
   */
  private async shiftContext(s: Session, nKeep: number, emit: (e: GenerateEvent) => Promise<void>): Promise<void> {
    const used = s.cached.length;
    const rest = used - nKeep;
    const drop = Math.max(1, Math.floor(rest / 2));
    const inPlace = s.model.canShiftInPlace;
    await emit({
      type: 'warning',
      code: 'clw-ctx-overflow',
      message: `context full (${s.ctxSize} tokens): dropped ${drop} older tokens after the first ${nKeep} and continued`,
    });
    this.contextShifts++;
    if (inPlace) {
      try {
        await s.model.shiftCache(nKeep, drop, used);
        s.cached.splice(nKeep, drop);
        return;
      } catch (e) {
        // The shift's temporary buffer did not fit: re-evaluating needs no memory.
        if (toClawError(e).code !== 'clw-gpu-oom') throw e;
      }
    }
    const kept = [...s.cached.slice(0, nKeep), ...s.cached.slice(nKeep + drop)];
    s.cached.length = 0;
    await this.evalChunked(s, kept, 0);
    s.cached.push(...kept);
  }

  /**
   * The next-token logits after `tokens` (reusing the KV cache of a common
   * prefix). For conformance tests and scoring; not streamed.
   */
  nextTokenLogits(tokens: readonly number[]): Promise<Float32Array> {
    return this.exclusive(async () => {
      await this.recoverFromLoss(true);
      const s = this.session;
      if (!s) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first.' });
      if (tokens.length === 0 || tokens.length > s.ctxSize) throw new ClawError('clw-bad-request', `expected 1..${s.ctxSize} tokens, got ${tokens.length}`);
      return (await this.evalReusingCache(s, tokens)).logits;
    });
  }

  unload(): Promise<void> {
    return this.exclusive(async () => {
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
