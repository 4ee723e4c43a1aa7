// What the engine will really allocate for a load plan, byte for byte, and
// the plan that keeps it inside the budget. The planner (plan.ts) models
// memory from the header; this adds what only the engine knows: vectors
// decoded to f32, one set of streaming slots (one per kind of matrix), the
// exact scratch buffers, the KV cache's transient buffer (growth and context
// shift), and the kernels' own uniform ring, read-back staging and
// decode-attention scratch. The plan
// is re-run with a lower planning budget until the engine's own total fits.

import type { GgufFile } from '../gguf/types';
import type { BufferPurpose, ByPurpose } from '../gpu/allocator';
import { kvCacheWidths, recurrentStateShape, type Hyperparams } from './hparams';
import { perLayerTableTensor, staysInFile } from './arch/gemma4';
import { PREFERRED_MIN_CTX, formatBytes, planMemory, shrinkPlan, type LoadPlan, type PlanOptions } from './plan';
import { scratchBytes } from './model';
import { uploadsAsVector } from './weights';
import { decodePassBytes } from './decode-pass';
import { KV_GROWTH_CHUNK, KV_MIN_GROWTH, kvTypeFor, recurrentStateBytes } from './kv-cache';
import { kvBytesPerElement, type KvType } from '../gpu/ops-api';
import { ATTENTION_DECODE_CHUNK } from '../gpu/kernels';

const F32 = 4;
const LAYER_TENSOR = /^blk\.(\d+)\.(.+)$/;
/** Uniform ring buffers of 64 KiB the kernels may hold: the model submits at most LAYERS_PER_SUBMIT layers at once, well under 2 rings. */
export const UNIFORM_RESERVE_BYTES = 2 * 256 * 256;
/** Smallest staging buffer the kernels allocate for a read-back. */
const MIN_STAGING_BYTES = 4096;

export interface EngineBytes {
  /** Non-layer tensors, resident layers, and every layer's vectors (norms, biases) as f32. */
  weightsResident: number;
  /** One reusable buffer per kind of streamed matrix (0 when every layer is resident). */
  streamSlots: number;
  /** K and V of every attention layer at the full context. */
  kvCache: number;
  /** Recurrent state of the layers without attention (lfm2's conv state, qwen35's conv and delta-rule state) and their placeholder K/V. */
  recurrentState: number;
  /** One layer's K buffer at the full context: the copy while the cache grows, or the rows moved by a context shift. */
  kvTransient: number;
  scratch: number;
  /** The recorded decode pass: parameter arena, step buffer, attention partials at the full context. */
  decodePass: number;
  /** What the kernels will still allocate for themselves (uniform ring, staging), beyond what is live now. */
  kernels: number;
  /** gemma4's per-layer embedding table where the plan puts it on the GPU (EnginePlan.perLayerTable), else 0. */
  perLayerTable: number;
  total: number;
}

export interface EnginePlanOptions {
  /** The VRAM budget the allocator enforces. */
  budgetBytes: number;
  /** Bytes live before the model loads (the kernels' own buffers) and what they may still need. */
  liveBytes: number;
  liveByPurpose: ByPurpose;
  ctxSize?: number;
  nGpuLayers?: 'auto' | number;
  batchSize: number;
  kvDynamic: boolean;
  maxPartBytes: number;
  /** KV cache element type asked for (default f32); f16 falls back to f32 for an odd kvDim (kvTypeFor). */
  kvType?: KvType;
}

export interface EnginePlan {
  plan: LoadPlan;
  /** Prefill batch (tokens per chunk) the scratch is sized for: the one asked for, or smaller where that keeps more layers or context. */
  batchSize: number;
  /** The options planMemory ran with (a planning budget below the real one). */
  planOptions: PlanOptions;
  bytes: EngineBytes;
  /** Positions the KV cache grows by when dynamic. */
  kvChunk: number;
  /** Element type of the KV cache this plan counts (what the engine creates). */
  kvType: KvType;
  /**
   * gemma4: the per-layer embedding table goes to the GPU, where the decode
   * pass gathers each token's rows, so decoding runs a step ahead; else it
   * stays in the file and a step's rows are read once its token is known.
   * Only after every layer and the wanted context have their room.
   */
  perLayerTable: boolean;
  fits: boolean;
  /** "22 of 32 layers resident, 10 streamed, context 8192: fits in 3.1 of 3.2 GiB" with the engine's own total. */
  text: string;
  notes: string[];
}


/** Rounded up to whole words, split into parts no bigger than a binding. */
function matrixGpuBytes(byteSize: number, maxPartBytes: number): number {
  const parts = Math.max(1, Math.ceil(byteSize / Math.max(4, maxPartBytes - 4)));
  // +16: fused tensors (qkv, gate-up) are uploaded as up to 3 pieces, each rounded to a word.
  return byteSize + 4 * parts + 16;
}

function powerOfTwoAtLeast(bytes: number): number {
  return Math.max(MIN_STAGING_BYTES, 2 ** Math.ceil(Math.log2(bytes)));
}

/**
 * The decode-attention kernel's working memory at a context of `ctx`: scores
 * for every key, and per chunk of keys a partial output and two statistics,
 * per head (see GpuOps' split attention), rounded up to a power of two. The
 * buffer only grows; the outgrown one lives until the next submit, so half
 * as much again.
 */
export function decodeAttentionScratchBytes(hp: Hyperparams, ctx: number): number {
  const chunks = Math.ceil(ctx / ATTENTION_DECODE_CHUNK);
  const floats = hp.nHeads * ctx + hp.nHeads * chunks * (hp.headDim + 2);
  const bytes = powerOfTwoAtLeast(floats * F32);
  return bytes + bytes / 2;
}

/**
 * The kernels' future allocations: a uniform ring of 2 buffers, and (booked
 * as staging) the logits' read-back buffer and the decode-attention scratch.
 */
export function kernelReserveBytes(hp: Hyperparams, ctx: number, live: ByPurpose): number {
  const staging = powerOfTwoAtLeast(hp.nVocab * F32) + decodeAttentionScratchBytes(hp, ctx);
  return Math.max(0, UNIFORM_RESERVE_BYTES - live.uniforms) + Math.max(0, staging - live.staging);
}

/** Bytes the engine allocates for `plan`, by the same rules the loader, streamer, KV cache and scratch follow (with perLayerTable, gemma4's table on the GPU). */
export function engineBytes(
  file: GgufFile,
  hp: Hyperparams,
  plan: LoadPlan,
  o: Pick<EnginePlanOptions, 'batchSize' | 'maxPartBytes' | 'liveByPurpose' | 'kvType'> & { perLayerTable?: boolean },
): EngineBytes {
  // The same bytes as the loader: vectors as f32, matrices split by binding, the scratch for min(batch, context).
  let weightsResident = 0;
  const slotByRole = new Map<string, number>();
  for (const t of file.tensors) {
    const m = LAYER_TENSOR.exec(t.name);
    const layer = m ? Number(m[1]) : -1;
    if (staysInFile(t.name)) continue;
    if (layer >= hp.nLayers) continue; // qwen35's MTP blocks are not loaded
    if (uploadsAsVector(t)) {
      weightsResident += Math.max(4, t.elements * F32);
      continue;
    }
    const bytes = matrixGpuBytes(t.byteSize, o.maxPartBytes);
    if (layer < 0 || layer < plan.residentLayers) weightsResident += bytes;
    else slotByRole.set(m![2], Math.max(slotByRole.get(m![2]) ?? 0, bytes));
  }
  // qwen35's IMROPE factors (one float per rope pair), made at load rather than read from the file.
  if (hp.deltaNet) weightsResident += Math.max(4, (hp.ropeDim / 2) * F32);
  let streamSlots = 0;
  for (const b of slotByRole.values()) streamSlots += b;
  // Only layers that own a cache have one (gemma4's last layers reuse an earlier layer's; recurrent layers have none).
  const kvCache = 2 * plan.ctxSize * kvCacheWidths(hp).reduce((a, b) => a + b, 0) * engineKvBytesPerElement(hp, o.kvType);
  const recurrentState = recurrentStateBytes(hp.recurrentLayers, recurrentStateShape(hp));
  // The transient is f32 whatever the cache holds: a context shift rotates the moved keys as f32 rows (KvCache.shift),
  // and that is at least the old buffer a growth copies from.
  const kvTransient = plan.ctxSize * hp.kvDim * F32;
  const scratch = scratchBytes(hp, Math.min(o.batchSize, plan.ctxSize));
  const kernels = kernelReserveBytes(hp, plan.ctxSize, o.liveByPurpose);
  // Streamed layers decode through the batch path (no recorded pass).
  const decodePass = plan.residentLayers < hp.nLayers ? 0 : decodePassBytes(hp, plan.ctxSize);
  const table = o.perLayerTable ? perLayerTableTensor(file, hp) : undefined;
  const tableBytes = table ? matrixGpuBytes(table.byteSize, o.maxPartBytes) : 0;
  const total = weightsResident + streamSlots + kvCache + recurrentState + kvTransient + scratch + decodePass + kernels + tableBytes;
  return { weightsResident, streamSlots, kvCache, recurrentState, kvTransient, scratch, decodePass, kernels, perLayerTable: tableBytes, total };
}

/** Bytes per KV element of the cache the engine will really create for `kvType`. */
export function engineKvBytesPerElement(hp: Hyperparams, kvType: KvType = 'f32'): 4 | 2 {
  return kvBytesPerElement(kvTypeFor(kvType, hp.kvDim));
}

function describe(plan: LoadPlan, total: number, fits: boolean, budget: number, kvType: KvType | undefined): string {
  const layers = `${plan.residentLayers} of ${plan.nLayers} layers resident, ${plan.streamedLayers} streamed, context ${plan.ctxSize}`;
  // Each number in its own unit: a small model in a large budget is "10.7 MiB of 1.0 GiB", not "0.0 of 1.0 GiB".
  const pair = `${formatBytes(total)} of ${formatBytes(budget)}`;
  const fit = fits ? `${layers}: fits in ${pair}` : `${layers}: does not fit, needs ${pair}`;
  return kvType ? `${fit} (KV cache ${kvType})` : fit;
}

function finish(file: GgufFile, hp: Hyperparams, plan: LoadPlan, planOptions: PlanOptions, o: EnginePlanOptions, batchSize: number, kvChunk: number, notes: string[]): EnginePlan {
  const table = planOptions.perLayerTable ?? false;
  const bytes = engineBytes(file, hp, plan, { ...o, batchSize, perLayerTable: table });
  const available = o.budgetBytes - o.liveBytes;
  const fits = plan.fits && bytes.total <= available;
  const kvType = kvTypeFor(o.kvType ?? 'f32', hp.kvDim);
  return {
    plan,
    batchSize,
    planOptions,
    bytes,
    kvChunk,
    kvType,
    perLayerTable: table,
    fits,
    // The KV type is named where the caller chose one (the engine always does).
    text: describe(plan, bytes.total + o.liveBytes, fits, o.budgetBytes, o.kvType === undefined ? undefined : kvType),
    notes: [...plan.notes, ...notes],
  };
}

/** The smallest prefill batch the planner shrinks to before it gives up layers or context. */
export const MIN_PREFILL_BATCH = 16;

/**
 * The plan for a load, the one the compatibility report shows and the
 * loader allocates. When the budget is tight it gives up, in order, prefill
 * batch (down to MIN_PREFILL_BATCH: slower prompts only), resident layers
 * (they stream), and context (down to the planner's floor); fits = false
 * means not even the floor fits. gemma4's per-layer embedding table goes to
 * the GPU only where that gives up none of these below the wanted context
 * (EnginePlan.perLayerTable); beyond it, the table comes before more context.
 */
export function planEngineMemory(file: GgufFile, hp: Hyperparams, o: EnginePlanOptions): EnginePlan {
  const unbounded = planMemory(file, planOptionsFor(hp, o, o.batchSize, Number.MAX_SAFE_INTEGER, false));
  // The context worth a smaller batch: the one asked for, or a usable one; more than that is not.
  const wantedCtx = o.ctxSize ?? Math.min(unbounded.ctxSize, PREFERRED_MIN_CTX);
  const without = planWith(file, hp, o, unbounded.residentLayers, wantedCtx, false);
  const table = perLayerTableTensor(file, hp);
  if (!table || without.plan.residentLayers < hp.nLayers) return without;
  const withTable = planWith(file, hp, o, unbounded.residentLayers, wantedCtx, true);
  const size = formatBytes(withTable.bytes.perLayerTable);
  if (withTable.fits && withTable.plan.residentLayers === hp.nLayers && withTable.batchSize >= without.batchSize && withTable.plan.ctxSize >= Math.min(without.plan.ctxSize, wantedCtx)) {
    withTable.notes.push(`the per-layer embedding table (${size}) is on the GPU: decoding gathers each token's rows there and runs a step ahead`);
    return withTable;
  }
  without.notes.push(`the per-layer embedding table (${size}) stays in the file: each decoded token's rows are read from it once the token is known (one draw in flight); a larger VRAM limit puts it on the GPU`);
  return without;
}

/** planEngineMemory with the per-layer table on the GPU or not: the best prefill batch for the unbounded plan's layers and the wanted context. */
function planWith(file: GgufFile, hp: Hyperparams, o: EnginePlanOptions, allLayers: number, wantedCtx: number, table: boolean): EnginePlan {
  const keepsAll = (p: EnginePlan) => p.fits && p.plan.residentLayers >= allLayers && p.plan.ctxSize >= wantedCtx;
  // Better = fits, then more resident layers, then more of the wanted context.
  const score = (p: EnginePlan) => [p.fits ? 1 : 0, p.plan.residentLayers, Math.min(p.plan.ctxSize, wantedCtx)];
  const better = (a: EnginePlan, b: EnginePlan) => {
    // Neither fits: the one closer to fitting, so the error names the smallest need.
    if (!a.fits && !b.fits) return a.bytes.total < b.bytes.total;
    const [x, y] = [score(a), score(b)];
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] > y[i];
    return false;
  };
  let best = planAtBatch(file, hp, o, o.batchSize, table);
  for (let batch = o.batchSize; !keepsAll(best) && batch > MIN_PREFILL_BATCH; ) {
    batch = Math.max(MIN_PREFILL_BATCH, Math.floor(batch / 2));
    const p = planAtBatch(file, hp, o, batch, table);
    if (better(p, best)) best = p;
  }
  if (best.batchSize < o.batchSize) {
    best.notes.push(`prefill batch ${o.batchSize} -> ${best.batchSize} tokens, to keep more layers resident or more context (prompts evaluate more slowly)`);
  }
  return best;
}

function planOptionsFor(hp: Hyperparams, o: EnginePlanOptions, batchSize: number, budgetBytes: number, perLayerTable: boolean): PlanOptions {
  return { budgetBytes, ctxSize: o.ctxSize, nGpuLayers: o.nGpuLayers, kvBytesPerElement: engineKvBytesPerElement(hp, o.kvType), batchSize, maxBindingBytes: o.maxPartBytes, perLayerTable };
}

/** planMemory at one prefill batch, with a planning budget lowered until the engine's exact total (plus what is live already) fits. */
function planAtBatch(file: GgufFile, hp: Hyperparams, o: EnginePlanOptions, batchSize: number, perLayerTable: boolean): EnginePlan {
  const available = o.budgetBytes - o.liveBytes;
  const base = planOptionsFor(hp, o, batchSize, Math.max(1, available), perLayerTable);
  const at = { ...o, batchSize, perLayerTable };
  let planOptions = base;
  let plan = planMemory(file, planOptions);
  // Each round moves the planning budget down by the engine's excess over the planner's model; a few rounds settle it.
  for (let round = 0; round < 8 && plan.fits; round++) {
    const bytes = engineBytes(file, hp, plan, at);
    if (bytes.total <= available) break;
    const excess = bytes.total - plan.bytes.total;
    const lowered = Math.min(planOptions.budgetBytes - 1, available - Math.max(0, excess));
    if (lowered <= 0) break;
    planOptions = { ...base, budgetBytes: lowered };
    plan = planMemory(file, planOptions);
  }
  return finish(file, hp, plan, planOptions, o, batchSize, KV_GROWTH_CHUNK, []);
}

/**
 * The next smaller plan after an allocation failed: gemma4's per-layer
 * table back in the file, then a halved prefill batch (down to
 * MIN_PREFILL_BATCH), then fewer resident layers, then a shorter context; a
 * smaller KV growth step each time. null when none is smaller.
 */
export function shrinkEnginePlan(prev: EnginePlan, file: GgufFile, hp: Hyperparams, o: EnginePlanOptions): EnginePlan | null {
  const kvChunk = Math.max(KV_MIN_GROWTH, Math.floor(prev.kvChunk / 2));
  const kvNote = `KV cache growth step ${prev.kvChunk} -> ${kvChunk} positions`;
  // First the per-layer table goes back to the file (the same plan otherwise).
  if (prev.perLayerTable) {
    const notes = [`shrunk after an allocation failure: the per-layer embedding table stays in the file`, kvNote];
    return finish(file, hp, prev.plan, { ...prev.planOptions, perLayerTable: false }, o, prev.batchSize, kvChunk, notes);
  }
  const batch = Math.min(prev.batchSize, prev.plan.ctxSize);
  if (batch > MIN_PREFILL_BATCH) {
    const smaller = Math.max(MIN_PREFILL_BATCH, Math.floor(batch / 2));
    return finish(file, hp, prev.plan, prev.planOptions, o, smaller, kvChunk, [`shrunk after an allocation failure: prefill batch ${prev.batchSize} -> ${smaller}`, kvNote]);
  }
  let plan: LoadPlan | null = prev.plan;
  const available = o.budgetBytes - o.liveBytes;
  const at = { ...o, batchSize: prev.batchSize };
  for (;;) {
    plan = shrinkPlan(plan, file, prev.planOptions);
    if (!plan) return null;
    if (engineBytes(file, hp, plan, at).total <= available) break;
  }
  return finish(file, hp, plan, prev.planOptions, o, prev.batchSize, kvChunk, [kvNote]);
}

/** Live bytes per purpose as one line, for plan notes and error details. */
export function formatByPurpose(by: ByPurpose): string {
  return (Object.keys(by) as BufferPurpose[]).map((p) => `${p} ${formatBytes(by[p])}`).join(', ');
}
