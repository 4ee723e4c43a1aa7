// The memory planner: from the GGUF header alone (no tensor data), decide how
// many layers live on the GPU, how long the context is, and what streams,
// so that everything the engine allocates stays within the VRAM budget.
//
// The model of GPU memory (docs/memory.md has the derivation):
//   total = non-layer weights (token_embd, output, output_norm, rope_freqs: always resident)
//         + resident layers (whole blk.N groups, from layer 0 up)
//         + 2 streaming buffers of the largest streamed layer (double-buffered uploads)
//         + KV cache: 2 * (sum of the cache layers' kvDim) * kvBytesPerElement * ctx
//           (every layer's cache lives on the GPU, streamed or not; gemma4's
//           shared layers have none; its per-layer embedding table stays in the file
//           unless the engine's plan asks for it with perLayerTable;
//           recurrent layers (lfm2, qwen35) have none, and a fixed-size state instead)
//         + activations for a prefill batch and the logits (attention streams its
//           softmax over key blocks: no score matrix, nothing that grows with ctx).
//
// Priorities when the budget is short: a usable context (4096 tokens, or the
// one the user asked for) first, then resident layers, then more context up to
// the training context; below that, context shrinks down to a floor of 512.

import { ClawError } from '../errors';
import type { GgufFile } from '../gguf/types';
import { kvCacheWidths, readHyperparams, recurrentStateShape, type Hyperparams } from './hparams';
import { perLayerTableTensor, staysInFile } from './arch/gemma4';
import { deltaNetScratchLengths } from './arch/qwen35';
import { recurrentStateBytes } from './kv-cache';

export interface PlanOptions {
  budgetBytes: number;
  /** Context the user asked for; default: the model's training context, capped to what fits. */
  ctxSize?: number;
  /** Resident layers: 'auto' (as many as fit) or at most this many. */
  nGpuLayers?: 'auto' | number;
  /** Bytes per cached K/V element: 4 for f32 rows (the default, see ops-api), 2 for f16. */
  kvBytesPerElement?: 4 | 2;
  /** Prefill chunk in tokens; sizes the activation buffers. */
  batchSize?: number;
  /** Largest storage binding the adapter allows; bigger tensors are split by rows. */
  maxBindingBytes?: number;
  /** gemma4: count the per-layer embedding table as resident (EnginePlan.perLayerTable); else it stays in the file. */
  perLayerTable?: boolean;
}

export interface LoadPlanBytes {
  /** Non-layer tensors plus the resident layers. */
  weightsResident: number;
  /** The two upload buffers streamed layers pass through (0 when all are resident). */
  weightsStreamedBuffers: number;
  kvCache: number;
  activations: number;
  total: number;
}

export interface LoadPlan {
  fits: boolean;
  /** Layers 0 .. residentLayers-1 are resident; the rest stream. */
  residentLayers: number;
  streamedLayers: number;
  nLayers: number;
  ctxSize: number;
  bytes: LoadPlanBytes;
  budgetBytes: number;
  /** Why it does not fit (only when fits is false). */
  reason?: string;
  notes: string[];
  /** One line for people: "22 of 32 layers resident, 10 streamed, context 8192: fits in 3.1 of 3.2 GiB". */
  text: string;
}

export const DEFAULT_BATCH_SIZE = 128;
/** Context kept ahead of resident layers when the user did not ask for one. */
export const PREFERRED_MIN_CTX = 4096;
/** Smallest context the planner will shrink to (or the model's, if smaller). */
export const MIN_CTX = 512;
/** Shrunk contexts are rounded down to this many tokens (the KV cache grows in such chunks). */
export const CTX_STEP = 256;

const F32_BYTES = 4;
const LAYER_TENSOR = /^blk\.(\d+)\./;

/** Everything the plan arithmetic needs, measured once from the header. */
interface MemoryModel {
  hp: Hyperparams;
  layerBytes: number[];
  nonLayerBytes: number;
  kvBytesPerToken: number;
  batchSize: number;
  budgetBytes: number;
  /** The context aimed for: the user's or the training context. */
  targetCtx: number;
  explicitCtx: boolean;
  /** Most resident layers allowed (nGpuLayers, clamped to nLayers). */
  maxLayers: number;
  floorCtx: number;
  /** Facts about the file that hold for every plan (binding splits, ...). */
  fileNotes: string[];
}

function badOption(name: string, value: unknown, expected: string): ClawError {
  return new ClawError('clw-bad-request', `${name} ${String(value)} is not ${expected}`, { details: { option: name, value } });
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}

function validate(options: PlanOptions): void {
  if (!(Number.isFinite(options.budgetBytes) && options.budgetBytes > 0)) throw badOption('budgetBytes', options.budgetBytes, 'a positive number of bytes');
  if (options.ctxSize !== undefined && !isPositiveInteger(options.ctxSize)) throw badOption('ctxSize', options.ctxSize, 'a positive integer');
  if (options.batchSize !== undefined && !isPositiveInteger(options.batchSize)) throw badOption('batchSize', options.batchSize, 'a positive integer');
  const n = options.nGpuLayers;
  if (n !== undefined && n !== 'auto' && !(Number.isInteger(n) && n >= 0)) throw badOption('nGpuLayers', n, "'auto' or a non-negative integer");
  const kv = options.kvBytesPerElement;
  if (kv !== undefined && kv !== 2 && kv !== 4) throw badOption('kvBytesPerElement', kv, '2 or 4');
}

function measureFile(file: GgufFile, options: PlanOptions): MemoryModel {
  validate(options);
  const hp = readHyperparams(file);
  const layerBytes = new Array<number>(hp.nLayers).fill(0);
  // The recurrent state (lfm2, qwen35) is fixed-size and always on the GPU, like the non-layer weights.
  let nonLayerBytes = recurrentStateBytes(hp.recurrentLayers, recurrentStateShape(hp));
  for (const t of file.tensors) {
    const m = LAYER_TENSOR.exec(t.name);
    const layer = m ? Number(m[1]) : -1;
    if (layer >= hp.nLayers) continue; // qwen35's MTP blocks after the trunk are not loaded
    if (layer >= 0) layerBytes[layer] += t.byteSize;
    else if (!staysInFile(t.name)) nonLayerBytes += t.byteSize;
  }
  if (options.perLayerTable) nonLayerBytes += perLayerTableTensor(file, hp)?.byteSize ?? 0;

  const fileNotes: string[] = [];
  const maxBinding = options.maxBindingBytes;
  if (maxBinding !== undefined && maxBinding > 0) {
    const tooBig = file.tensors.filter((t) => t.byteSize > maxBinding && (options.perLayerTable || !staysInFile(t.name)));
    if (tooBig.length > 0) {
      const largest = tooBig.reduce((a, b) => (b.byteSize > a.byteSize ? b : a));
      fileNotes.push(
        `${tooBig.length} tensor(s) exceed the ${formatBytes(maxBinding)} binding limit and are split by rows (largest: ${largest.name}, ${formatBytes(largest.byteSize)})`,
      );
    }
  }

  const targetCtx = options.ctxSize ?? hp.nCtxTrain;
  if (options.ctxSize !== undefined && options.ctxSize > hp.nCtxTrain) {
    fileNotes.push(`context ${options.ctxSize} is beyond the ${hp.nCtxTrain} tokens the model was trained on; quality may drop`);
  }
  const requestedLayers = options.nGpuLayers ?? 'auto';
  return {
    hp,
    layerBytes,
    nonLayerBytes,
    kvBytesPerToken: 2 * sum(kvCacheWidths(hp)) * (options.kvBytesPerElement ?? 4),
    batchSize: options.batchSize ?? DEFAULT_BATCH_SIZE,
    budgetBytes: options.budgetBytes,
    targetCtx,
    explicitCtx: options.ctxSize !== undefined,
    maxLayers: requestedLayers === 'auto' ? hp.nLayers : Math.min(requestedLayers, hp.nLayers),
    floorCtx: Math.min(MIN_CTX, targetCtx),
    fileNotes,
  };
}

/**
 * Activation and scratch bytes for a prefill batch of B tokens, all f32:
 * the residual stream and its normed copy, q/k/v and the attention output,
 * the two FFN halves, the token ids, the last hidden state and the logits
 * of one token. Nothing here grows with the context: prefill attention
 * (shaders/attention.wgsl) runs an online softmax over blocks of keys and
 * keeps no batch x context score matrix.
 */
export function activationBytes(hp: Hyperparams, batchSize: number): number {
  const B = batchSize;
  const qDim = hp.nHeads * hp.headDim;
  const elements =
    B * hp.nEmbd + // x
    B * Math.max(hp.nEmbd, qDim) + // xb
    2 * B * qDim + // q, attention output
    2 * B * hp.kvDim + // k, v
    2 * B * hp.nFf + // gate, up
    B + // token ids (u32)
    hp.nEmbd + // last hidden state
    hp.nVocab + // logits
    Object.values(deltaNetScratchLengths(hp, B)).reduce((a: number, b: number) => a + b, 0); // qwen35's delta-net and gate buffers
  return elements * F32_BYTES;
}

function measure(m: MemoryModel, resident: number, ctx: number): LoadPlanBytes {
  let residentLayerBytes = 0;
  for (let l = 0; l < resident; l++) residentLayerBytes += m.layerBytes[l];
  let largestStreamed = 0;
  for (let l = resident; l < m.layerBytes.length; l++) largestStreamed = Math.max(largestStreamed, m.layerBytes[l]);
  const weightsResident = m.nonLayerBytes + residentLayerBytes;
  const weightsStreamedBuffers = 2 * largestStreamed;
  const kvCache = m.kvBytesPerToken * ctx;
  const activations = activationBytes(m.hp, m.batchSize);
  return { weightsResident, weightsStreamedBuffers, kvCache, activations, total: weightsResident + weightsStreamedBuffers + kvCache + activations };
}

function fitsBudget(m: MemoryModel, resident: number, ctx: number): boolean {
  return measure(m, resident, ctx).total <= m.budgetBytes;
}

/** Largest context in [lo, hi] that fits with `resident` layers, rounded down to CTX_STEP when that stays >= lo; null if lo does not fit. */
function largestFittingCtx(m: MemoryModel, resident: number, lo: number, hi: number): number | null {
  if (hi < lo || !fitsBudget(m, resident, lo)) return null;
  if (fitsBudget(m, resident, hi)) return hi;
  // Total bytes grow with ctx, so the fitting contexts are a prefix of [lo, hi].
  let good = lo;
  let bad = hi;
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (fitsBudget(m, resident, mid)) good = mid;
    else bad = mid;
  }
  const rounded = Math.floor(good / CTX_STEP) * CTX_STEP;
  return rounded >= lo ? rounded : good;
}

/** Size formatting shared by plan texts and reports: GiB from 1 GiB up, else MiB, else KiB. */
export function formatBytes(bytes: number): string {
  const { unit, scale } = unitFor(bytes);
  return `${(bytes / scale).toFixed(1)} ${unit}`;
}

function unitFor(bytes: number): { unit: string; scale: number } {
  if (bytes >= 1024 ** 3) return { unit: 'GiB', scale: 1024 ** 3 };
  if (bytes >= 1024 ** 2) return { unit: 'MiB', scale: 1024 ** 2 };
  return { unit: 'KiB', scale: 1024 };
}

/** "3.1 of 3.2 GiB": both numbers in the budget's unit. */
function formatPair(used: number, budget: number): string {
  const { unit, scale } = unitFor(budget);
  // A small model in a large budget would read "0.0 of 1.0 GiB": name its own unit.
  if (used > 0 && used / scale < 0.05) return `${formatBytes(used)} of ${(budget / scale).toFixed(1)} ${unit}`;
  return `${(used / scale).toFixed(1)} of ${(budget / scale).toFixed(1)} ${unit}`;
}

function describeShortfall(m: MemoryModel, b: LoadPlanBytes, ctx: number): string {
  return (
    `with no resident layers and a ${ctx}-token context, the non-layer tensors (${formatBytes(b.weightsResident)}), ` +
    `two streaming buffers (${formatBytes(b.weightsStreamedBuffers)}), the KV cache (${formatBytes(b.kvCache)}) ` +
    `and activations (${formatBytes(b.activations)}) need ${formatBytes(b.total)}, more than the ${formatBytes(m.budgetBytes)} budget`
  );
}

function makePlan(m: MemoryModel, resident: number, ctx: number, notes: string[]): LoadPlan {
  const bytes = measure(m, resident, ctx);
  const nLayers = m.hp.nLayers;
  const streamed = nLayers - resident;
  const fits = bytes.total <= m.budgetBytes;
  const allNotes = [...m.fileNotes, ...notes];
  if (fits && streamed > 0) {
    allNotes.push(`${streamed} layer(s) stream from the file for every token (slower); a larger VRAM limit keeps more resident`);
  }
  const layers = `${resident} of ${nLayers} layers resident, ${streamed} streamed, context ${ctx}`;
  const text = fits
    ? `${layers}: fits in ${formatPair(bytes.total, m.budgetBytes)}`
    : `${layers}: does not fit, needs ${formatPair(bytes.total, m.budgetBytes)}`;
  const plan: LoadPlan = { fits, residentLayers: resident, streamedLayers: streamed, nLayers, ctxSize: ctx, bytes, budgetBytes: m.budgetBytes, notes: allNotes, text };
  if (!fits) plan.reason = describeShortfall(m, bytes, ctx);
  return plan;
}

/**
 * Plans GPU memory for `file` within `options.budgetBytes`. Throws ClawError
 * for bad options (clw-bad-request) and bad hyperparameters (from
 * readHyperparams); a model that does not fit is a plan with fits = false,
 * which the caller turns into clw-gpu-oom.
 */
export function planMemory(file: GgufFile, options: PlanOptions): LoadPlan {
  const m = measureFile(file, options);
  const nLayers = m.hp.nLayers;
  const preferredCtx = m.explicitCtx ? m.targetCtx : Math.min(m.targetCtx, PREFERRED_MIN_CTX);
  const notes: string[] = [];

  let resident = -1;
  for (let r = m.maxLayers; r >= 0; r--) {
    if (fitsBudget(m, r, preferredCtx)) {
      resident = r;
      break;
    }
  }

  let ctx: number;
  if (resident >= 0) {
    ctx = largestFittingCtx(m, resident, preferredCtx, m.targetCtx) ?? preferredCtx;
  } else {
    resident = 0;
    const shrunk = largestFittingCtx(m, 0, m.floorCtx, preferredCtx - 1);
    if (shrunk === null) return makePlan(m, 0, m.floorCtx, notes);
    ctx = shrunk;
  }

  const requested = options.nGpuLayers;
  if (typeof requested === 'number' && requested > nLayers) notes.push(`asked for ${requested} resident layers; the model has ${nLayers}`);
  if (typeof requested === 'number' && resident < Math.min(requested, nLayers)) notes.push(`asked for ${requested} resident layers; ${resident} fit the budget`);
  if (ctx < m.targetCtx) {
    notes.push(
      m.explicitCtx
        ? `context ${m.targetCtx} does not fit the budget; shrunk to ${ctx}`
        : `context capped at ${ctx} to fit the budget (the model was trained for ${m.hp.nCtxTrain})`,
    );
  }
  return makePlan(m, resident, ctx, notes);
}

/**
 * The next smaller plan after an allocation failed: fewer resident layers
 * (the most that still lowers the total; dropping the last resident layer
 * adds streaming buffers, so one step may drop several), then a halved
 * context down to the floor. null when nothing smaller exists.
 */
export function shrinkPlan(plan: LoadPlan, file: GgufFile, options: PlanOptions): LoadPlan | null {
  const m = measureFile(file, options);
  const current = measure(m, plan.residentLayers, plan.ctxSize).total;
  for (let r = plan.residentLayers - 1; r >= 0; r--) {
    if (measure(m, r, plan.ctxSize).total < current) {
      return makePlan(m, r, plan.ctxSize, [`shrunk after an allocation failure: ${plan.residentLayers} -> ${r} resident layers`]);
    }
  }
  if (plan.ctxSize > m.floorCtx) {
    const halved = Math.floor(plan.ctxSize / 2 / CTX_STEP) * CTX_STEP;
    const ctx = Math.max(m.floorCtx, halved);
    return makePlan(m, plan.residentLayers, ctx, [`shrunk after an allocation failure: context ${plan.ctxSize} -> ${ctx}`]);
  }
  return null;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
