// Loading a model: parse the header, plan the memory, allocate and upload
// the weights, the KV cache and the scratch buffers; an allocation the GPU
// (or the budget) refuses shrinks the plan and tries again.

import { ClawError, toClawError } from '../errors';
import type { ByteSource, GgufFile } from '../gguf/types';
import { readGguf } from '../gguf/reader';
import { resolveDtype, type GpuContext } from '../gpu/device';
import { createWeightUploader, uploadWeightFrom } from '../gpu/ops';
import type { GpuOps } from '../gpu/ops-api';
import { kvCacheWidths, readHyperparams, recurrentStateShape, type Hyperparams } from '../model/hparams';
import { perLayerTableTensor, PerLayerTokenRows } from '../model/arch/gemma4';
import { loadModelWeights } from '../model/weights';
import { LlamaModel, createScratch } from '../model/model';
import { KvCache } from '../model/kv-cache';
import { formatBytes } from '../model/plan';
import { shrinkEnginePlan, type EnginePlan } from '../model/engine-memory';
import { LayerStreamer, defaultStreamCacheBytes } from '../model/streaming';
import { resolveBudget } from '../model/vram';
import { dequantize, dequantizeInto } from '../quant';
import { createTokenizer } from '../tokenizer';
import { chatFormatterFor } from './chat';
import { planLoad, type DeviceFacts } from './load-plan';
import type { Session } from './session';
import type { LoadOptions, LoadProgress, ModelInfo } from './types';

type Allocator = GpuContext['allocator'];

export interface LoaderEnv {
  ctx: GpuContext;
  ops: GpuOps;
  /** CPU memory for the weights of streamed layers (EngineOptions.streamCacheBytes). */
  streamCacheBytes?: number;
  /** EngineOptions.decodePass: false decodes through the batch path. */
  decodePass?: boolean;
  /** EngineOptions.readPacing. */
  readPacing?: boolean;
  /** EngineOptions.readAheadBytes. */
  readAheadBytes?: number;
  /** EngineOptions.readChunkBytes. */
  readChunkBytes?: number;
  /** Compile every kernel at load (EngineOptions.precompile, resolved for the adapter). */
  precompile: boolean;
}

/** A loaded model and the allocator scope that owns its buffers (free it to unload). */
export interface LoadedSession {
  session: Session;
  buffers: Allocator;
}

/** The adapter facts the planner and the compatibility report use. */
export function adapterFacts(ctx: GpuContext) {
  const l = ctx.device.limits;
  return {
    description: ctx.adapterDescription,
    features: ctx.features,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
  };
}

/** The device facts the planner needs, with `liveBytes` live besides the model being replaced. */
export function deviceFacts(ctx: GpuContext, liveBytes: number): DeviceFacts {
  return {
    liveBytes,
    liveByPurpose: ctx.allocator.liveBytesByPurpose(),
    maxPartBytes: Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize),
  };
}

/** Loads a model; on failure everything it allocated is freed again. The caller has freed the previous model. */
export async function loadSession(env: LoaderEnv, source: ByteSource, options: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<LoadedSession> {
  const { ctx } = env;
  const allocator = ctx.allocator;
  const t0 = performance.now();
  onProgress?.({ phase: 'parse', fraction: 0 });
  const file = await readGguf(source);
  const hp = readHyperparams(file);
  const tokenizer = createTokenizer(file);

  // Plan from the header before anything is allocated (the same plan the
  // compatibility report shows); the allocator then enforces the same budget
  // on every buffer, the kernels' own included.
  onProgress?.({ phase: 'plan', fraction: 0 });
  const adapter = adapterFacts(ctx);
  let budgetBytes = resolveBudget(options.vramLimit, adapter);
  const initial = planLoad(file, hp, budgetBytes, options, deviceFacts(ctx, allocator.liveBytes()));
  let { memory } = initial;
  const { planned: first, kvDynamic } = initial;
  let planned = first;
  const { dtype, note: dtypeNote } = resolveDtype(options.dtype, ctx.features);
  if (!planned.fits) {
    throw new ClawError('clw-gpu-oom', `the model does not fit the VRAM budget: ${planned.text}${planned.plan.reason ? ` (${planned.plan.reason})` : ''}`, {
      fix: 'Raise the VRAM budget, lower the context size, or pick a smaller or more quantized model.',
      details: { plan: planned.plan, engineBytes: planned.bytes },
    });
  }
  onProgress?.({ phase: 'plan', fraction: 1, message: planned.text });
  allocator.budgetBytes = budgetBytes;
  env.ops.dtype = dtype;

  // An allocation the GPU (or the budget) refuses shrinks the plan and
  // retries; clw-gpu-oom only when even the smallest plan fails.
  const retries: string[] = [];
  let model: LlamaModel;
  let buffers: Allocator;
  for (;;) {
    buffers = allocator.scope();
    try {
      model = await allocateModel(env, buffers, file, source, hp, planned, kvDynamic, onProgress);
      break;
    } catch (e) {
      const error = toClawError(e);
      // The bytes live when the GPU refused: the weights' answers come in batches (GpuAllocator.allocFilled), after more buffers were made.
      const refusedAt = Math.min(allocator.liveBytes(), Number(error.details?.liveBytes ?? Infinity));
      buffers.freeAll();
      if (error.code !== 'clw-gpu-oom') throw error;
      if (error.details?.refusedBy === 'gpu' && refusedAt < budgetBytes) {
        // Measured, not guessed: the GPU took `refusedAt` bytes and refused more.
        // That is the budget now, and the one planner lays the model out in it.
        budgetBytes = refusedAt;
        allocator.budgetBytes = budgetBytes;
        const remeasured = planLoad(file, hp, budgetBytes, options, deviceFacts(ctx, allocator.liveBytes()));
        if (!remeasured.planned.fits) {
          throw new ClawError('clw-gpu-oom', `the GPU refused an allocation with ${formatBytes(refusedAt)} in use, and the model does not fit that: ${remeasured.planned.text}`, {
            fix: 'Close other tabs or programs using the GPU, lower the context size, or pick a smaller or more quantized model.',
            details: { plan: remeasured.planned.plan, cause: error.message, retries },
          });
        }
        memory = remeasured.memory;
        planned = remeasured.planned;
        retries.push(`the GPU refused an allocation with ${formatBytes(refusedAt)} in use (${error.message}): budget measured at ${formatBytes(refusedAt)}; planned again: ${planned.text}`);
        onProgress?.({ phase: 'plan', fraction: 1, message: `retrying: ${planned.text}` });
        continue;
      }
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
    adapter: ctx.adapterDescription,
    gpuBytesPeak: allocator.peakBytes,
    loadMs: performance.now() - t0,
    plan: planned.text,
    planNotes: [...planned.notes, ...retries, ...(dtypeNote ? [dtypeNote] : [])],
    residentLayers: planned.plan.residentLayers,
    batchSize: planned.batchSize,
    budgetBytes,
    kvCacheDynamic: kvDynamic,
    dtype,
    ...(model.decode?.autotune ? { matvecTuning: model.decode.autotune } : {}),
  };
  const kv = model.kv;
  const session: Session = {
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
  return { session, buffers };
}

/** Allocates everything of one plan inside `buffers` (the caller frees it on any failure). */
async function allocateModel(
  env: LoaderEnv,
  buffers: Allocator,
  file: GgufFile,
  source: ByteSource,
  hp: Hyperparams,
  planned: EnginePlan,
  kvDynamic: boolean,
  onProgress?: (p: LoadProgress) => void,
): Promise<LlamaModel> {
  const { ctx } = env;
  const plan = planned.plan;
  const streamer =
    plan.residentLayers < hp.nLayers
      ? new LayerStreamer(ctx.device, buffers, file, source, {
          residentLayers: plan.residentLayers,
          maxPartBytes: Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize),
          cpuCacheBytes: env.streamCacheBytes ?? defaultStreamCacheBytes(),
        })
      : null;
  const uploader = createWeightUploader(ctx, buffers);
  const batch = Math.min(planned.batchSize, plan.ctxSize);
  // gemma4's per-layer table: on the GPU where the plan puts it, else its rows are read from the file for each pass.
  const table = perLayerTableTensor(file, hp);
  const tableBytes = planned.perLayerTable && table ? table.byteSize : 0;
  const perLayerRows = table && tableBytes === 0 ? new PerLayerTokenRows(source, table, hp, batch, dequantizeInto) : undefined;
  const uploaded = (loaded: number, total: number) => onProgress?.({ phase: 'upload', fraction: total ? loaded / total : 1, loadedBytes: loaded, totalBytes: total });
  let before = 0;
  const weights = await loadModelWeights(file, source, hp, streamer ? streamer.wrap(uploader) : uploader, dequantize, {
    contextSize: plan.ctxSize,
    readAheadBytes: env.readAheadBytes,
    readChunkBytes: env.readChunkBytes,
    onBytes: (loaded, total) => {
      before = total;
      uploaded(loaded, total + tableBytes);
    },
  });
  if (table && tableBytes > 0) {
    // After the other tensors, in chunks: E2B's table is 2.3 GiB.
    weights.perLayerTable = await uploadWeightFrom(ctx, table.name, table.type, hp.nVocab, table.shape[0], (offset, length) => source.read(table.fileOffset + offset, length), buffers, {
      onBytes: (done) => uploaded(before + done, before + tableBytes),
    });
  }
  await streamer?.allocateSlots();
  const kvWidths = kvCacheWidths(hp);
  const kv = await KvCache.create(buffers, ctx.device, {
    nLayers: kvWidths.length,
    kvDim: hp.kvDim,
    layerWidths: hp.gemma4 ? kvWidths : undefined,
    maxCapacity: plan.ctxSize,
    dynamic: kvDynamic,
    initialPositions: planned.kvChunk,
    growthChunk: planned.kvChunk,
    kvType: planned.kvType,
    recurrentLayers: hp.recurrentLayers,
    stateBytes: recurrentStateShape(hp),
  });
  const scratch = await createScratch(buffers, hp, batch);
  const model = new LlamaModel(env.ops, hp, weights, kv, scratch, {
    perLayerRows,
    streamer: streamer?.hasStreamedLayers ? streamer : null,
    allocator: buffers,
    decodePass: env.decodePass,
    readPacing: env.readPacing,
    precompile: env.precompile,
  });
  await model.prepare();
  return model;
}
