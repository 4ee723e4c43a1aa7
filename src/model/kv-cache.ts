// The KV cache: per layer, one buffer of keys and one of values, each a row
// of kvDim elements per position: f32, or (kvType 'f16', llama.cpp's default
// and half the memory) f16 pairs packed in u32 words, which every adapter
// reads with unpack2x16float. Attention reads one K and one V buffer per
// layer, so growing means a bigger buffer per layer with the old rows copied
// in (one layer at a time, so the transient extra is one old buffer), never
// a re-run of the prompt. A context shift drops rows in place and re-rotates
// the surviving keys to their new positions (llama.cpp's K-shift).
//
// Layers without attention (lfm2's short convolutions, qwen35's gated
// delta-net layers) have no rows: their K and V are one shared placeholder.
// They keep a per-sequence recurrent state instead, a few f32 buffers per
// layer (recurrentStateShape: lfm2's conv inputs; qwen35's conv inputs and
// delta-rule matrices), which cannot be rewound in general: the cache tracks
// how many positions it has absorbed, and a pass must continue from exactly
// there or restart at position 0 (which clears it). Each state buffer holds
// two halves, the state after n positions in half n % 2 (a pass reads the
// half of its first position and writes the half of its end:
// shaders/state_halves.wgsl), so a one-position step leaves the state before
// it intact and can be taken back (rewindState): the token pipeline runs a
// step ahead of the ids it has read, and drops that step at a stop. One copy
// of the state can be saved (the end of the last prompt) and put back, so
// the same prompt again (a regenerated reply) continues from there instead
// of from 0.

import { ClawError } from '../errors';
import { STORAGE_USAGE, type GpuAllocator } from '../gpu/allocator';
import { kvBytesPerElement, type ActBuffer, type GpuOps, type KvType, type RopeParams } from '../gpu/ops-api';

const F32 = 4;

/** Positions the cache grows by at least (and rounds capacities to). */
export const KV_GROWTH_CHUNK = 256;
/** Positions a growth falls back to rounding to when a full chunk does not fit. */
export const KV_MIN_GROWTH = 16;

export interface KvCacheOptions {
  nLayers: number;
  kvDim: number;
  /** Row width of each cache layer where they differ (gemma4; see kvCacheWidths); default kvDim for all. */
  layerWidths?: readonly number[];
  /** The context: the most positions the cache may ever hold. */
  maxCapacity: number;
  /** Grow in chunks as positions are used (CLAW_KV_CACHE_DYNAMIC); false allocates maxCapacity at once. */
  dynamic: boolean;
  /** Positions to allocate up front when dynamic (rounded up to a chunk, capped at maxCapacity). */
  initialPositions?: number;
  /** Smallest growth step in positions (default KV_GROWTH_CHUNK). */
  growthChunk?: number;
  /** Element type of the rows (default f32). f16 needs an even kvDim: see kvTypeFor. */
  kvType?: KvType;
  /** Layers with no K/V rows (true), each holding buffers of recurrent state instead. */
  recurrentLayers?: readonly boolean[];
  /** Bytes of one copy of each state buffer of a recurrent layer (recurrentStateShape); the buffer holds two. */
  stateBytes?: readonly number[];
}

/** Bytes of the recurrent state (two halves), its saved copy and the placeholder K/V of `recurrentLayers` (0 when there are none): for the memory plans. */
export function recurrentStateBytes(recurrentLayers: readonly boolean[], stateBytes: readonly number[]): number {
  const n = recurrentLayers.filter(Boolean).length;
  return n === 0 ? 0 : n * stateBytes.reduce((sum, b) => sum + stateBufferBytes(2 * b) + stateBufferBytes(b), 0) + PLACEHOLDER_BYTES;
}

/** A state buffer's allocation: at least one word. */
function stateBufferBytes(bytes: number): number {
  return Math.max(4, bytes);
}

const PLACEHOLDER_BYTES = 16;

/** The KV element type to use for `wanted`: f16 only where rows are whole u32 words (kvDim even), else f32. */
export function kvTypeFor(wanted: KvType, kvDim: number): KvType {
  return wanted === 'f16' && kvDim % 2 === 0 ? 'f16' : 'f32';
}

/** How a layer's keys were rotated, minus the position: what a K-shift needs to rotate them again (no magnitude terms). */
export type KeyRope = Omit<RopeParams, 'nHeads' | 'startPos' | 'attnFactor' | 'yarn'>;

export class KvCache {
  readonly keys: GPUBuffer[] = [];
  readonly values: GPUBuffer[] = [];
  /** Positions the buffers can hold now. */
  capacity = 0;
  /** The most positions the cache may hold: the context. Lowered when growing fails for lack of memory. */
  maxCapacity: number;
  /** How many times the buffers grew after creation. */
  growths = 0;
  /** Bumped whenever a K or V buffer is replaced (growth, even one that fails halfway): what binds them must bind again. */
  buffersVersion = 0;
  /** Per layer, the recurrent state buffers of a layer without attention (recurrentStateShape's order, two halves each); null for attention layers. */
  readonly states: (GPUBuffer[] | null)[] = [];
  /** Positions the recurrent state has absorbed, -1 after a failed pass (meaningful only when hasRecurrentState). */
  stateSeen = 0;
  /** Positions of the state the other halves still hold (the last pass took one position), else -1: where rewindState may go. */
  private stateBefore = -1;
  /** Bytes of one half of each state buffer of a recurrent layer (KvCacheOptions.stateBytes). */
  private stateHalves: readonly number[] = [];
  /** Per layer, the saved copy of `states` (saveState); null for attention layers. */
  private readonly savedStates: (GPUBuffer[] | null)[] = [];
  /** Positions the saved copy had absorbed; -1 when nothing is saved. */
  savedSeen = -1;
  private placeholder: GPUBuffer | null = null;
  private readonly chunk: number;
  /** Row width of each layer (kvDim for every layer unless the model's layers differ). */
  readonly widths: readonly number[];

  private constructor(
    private readonly allocator: GpuAllocator,
    private readonly device: GPUDevice,
    readonly kvDim: number,
    readonly nLayers: number,
    maxCapacity: number,
    chunk: number,
    /** Element type of every row: what writeCacheRows and attention must be told. */
    readonly kvType: KvType,
    widths?: readonly number[],
  ) {
    this.widths = widths ?? new Array<number>(nLayers).fill(kvDim);
    this.maxCapacity = maxCapacity;
    this.chunk = chunk;
  }

  /** Allocates the cache: all of it, or (dynamic) a first chunk. Frees what it made if an allocation fails. */
  static async create(allocator: GpuAllocator, device: GPUDevice, o: KvCacheOptions): Promise<KvCache> {
    if (!(Number.isInteger(o.maxCapacity) && o.maxCapacity > 0)) throw new ClawError('clw-bad-request', `KV cache capacity ${o.maxCapacity} is not a positive integer`);
    const kvType = o.kvType ?? 'f32';
    if (o.layerWidths && o.layerWidths.length !== o.nLayers) throw new ClawError('clw-bad-request', `${o.layerWidths.length} layer widths for ${o.nLayers} cache layers`);
    const widths = o.layerWidths ?? [o.kvDim];
    if (kvType === 'f16' && widths.some((w) => w % 2 !== 0)) throw new ClawError('clw-bad-request', `an f16 KV cache needs even row widths, got ${widths.join(', ')}`);
    const chunk = Math.max(1, o.growthChunk ?? KV_GROWTH_CHUNK);
    const kv = new KvCache(allocator, device, o.kvDim, o.nLayers, o.maxCapacity, chunk, kvType, o.layerWidths);
    kv.stateHalves = o.stateBytes ?? [];
    const first = o.dynamic ? Math.min(o.maxCapacity, roundUp(Math.max(1, o.initialPositions ?? chunk), chunk)) : o.maxCapacity;
    try {
      for (let l = 0; l < o.nLayers; l++) {
        if (o.recurrentLayers?.[l]) {
          kv.placeholder ??= await allocator.alloc('kv', PLACEHOLDER_BYTES, STORAGE_USAGE, 'kv placeholder');
          kv.keys.push(kv.placeholder);
          kv.values.push(kv.placeholder);
          const state: GPUBuffer[] = [];
          const saved: GPUBuffer[] = [];
          kv.states.push(state);
          kv.savedStates.push(saved);
          for (const [i, bytes] of kv.stateHalves.entries()) {
            state.push(await allocator.alloc('kv', stateBufferBytes(2 * bytes), STORAGE_USAGE, `recurrent state ${l}.${i}`));
            saved.push(await allocator.alloc('kv', stateBufferBytes(bytes), STORAGE_USAGE, `saved recurrent state ${l}.${i}`));
          }
          continue;
        }
        kv.keys.push(await allocator.alloc('kv', kv.bytesFor(first, l), STORAGE_USAGE, `k cache ${l}`));
        kv.values.push(await allocator.alloc('kv', kv.bytesFor(first, l), STORAGE_USAGE, `v cache ${l}`));
        kv.states.push(null);
        kv.savedStates.push(null);
      }
    } catch (e) {
      kv.free();
      throw e;
    }
    kv.capacity = first;
    return kv;
  }

  /** Whether some layer keeps a recurrent state (which cannot be rewound: see beginPass). */
  get hasRecurrentState(): boolean {
    return this.placeholder !== null;
  }

  /** Whether layer l has K/V rows (attention), not a recurrent state. */
  hasRows(l: number): boolean {
    return this.states[l] === null;
  }

  /**
   * Before evaluating tokens from `startPos`: at 0 the recurrent state is
   * cleared (a new sequence); elsewhere it must be where the last pass left
   * it, since it cannot be rewound (the engine re-runs from 0 instead).
   */
  beginPass(startPos: number): void {
    if (!this.hasRecurrentState) return;
    if (startPos === 0) {
      const encoder = this.device.createCommandEncoder({ label: 'recurrent state reset' });
      for (const s of this.states) for (const b of s ?? []) encoder.clearBuffer(b);
      this.device.queue.submit([encoder.finish()]);
    } else if (startPos !== this.stateSeen) {
      throw new ClawError('clw-llm-crash', `the recurrent state has seen ${this.stateSeen} positions; a pass cannot start at ${startPos}`);
    }
    // Unknown until the pass ends: a pass that fails leaves only a restart at 0.
    this.stateSeen = -1;
    this.stateBefore = startPos;
  }

  /** After work on the state failed or may not have run: only a pass at position 0 may follow. */
  forgetState(): void {
    if (this.hasRecurrentState) this.stateSeen = -1;
  }

  /** After a pass that ended at position `end` (exclusive). */
  endPass(end: number): void {
    this.stateSeen = end;
    // A pass of one position wrote the other halves: its start's state is still there.
    if (end - this.stateBefore !== 1) this.stateBefore = -1;
  }

  /**
   * Takes the state back to `positions` absorbed: where it is, or where it
   * was before a last pass of one position (true); anything else forgets
   * it, so that only a pass at 0 may follow (false).
   */
  rewindState(positions: number): boolean {
    if (!this.hasRecurrentState || positions === this.stateSeen) return true;
    const ok = this.stateSeen >= 0 && positions === this.stateBefore;
    this.stateSeen = ok ? positions : -1;
    this.stateBefore = -1;
    return ok;
  }

  /** Saves a copy of the recurrent state as it is now (after a pass that succeeded), replacing the last one. */
  saveState(): void {
    if (!this.hasRecurrentState || this.stateSeen < 0) return;
    this.copyStates(this.states, this.stateSeen % 2, this.savedStates, 0, 'recurrent state save');
    this.savedSeen = this.stateSeen;
  }

  /** Puts the saved copy back: the state is again at `savedSeen`, which it returns (-1, and nothing changes, when none is saved). */
  restoreState(): number {
    if (!this.hasRecurrentState || this.savedSeen < 0) return -1;
    this.copyStates(this.savedStates, 0, this.states, this.savedSeen % 2, 'recurrent state restore');
    this.stateSeen = this.savedSeen;
    this.stateBefore = -1;
    return this.stateSeen;
  }

  /** One half of every state buffer from `from` (half `fromHalf`) to `to` (half `toHalf`); the saved copies have one. */
  private copyStates(from: (GPUBuffer[] | null)[], fromHalf: number, to: (GPUBuffer[] | null)[], toHalf: number, label: string): void {
    const encoder = this.device.createCommandEncoder({ label });
    for (let l = 0; l < from.length; l++) {
      const src = from[l];
      const dst = to[l];
      if (!src || !dst) continue;
      for (let i = 0; i < src.length; i++) {
        const bytes = this.stateHalves[i];
        if (bytes > 0) encoder.copyBufferToBuffer(src[i], fromHalf * bytes, dst[i], toHalf * bytes, bytes);
      }
    }
    this.device.queue.submit([encoder.finish()]);
  }

  /** Bytes of layer `layer`'s K (or V) buffer at `positions`. */
  bytesFor(positions: number, layer = 0): number {
    return positions * this.widths[layer] * kvBytesPerElement(this.kvType);
  }

  /**
   * Makes room for `positions` positions. Grows by a chunk (or half the
   * current capacity, whichever is more, so long contexts grow a few times,
   * not hundreds); if that does not fit, by the smallest step that does.
   * Returns false, and lowers maxCapacity to what the cache holds, when even
   * that fails for lack of memory: the caller then shifts the context.
   */
  async reserve(positions: number): Promise<boolean> {
    if (positions <= this.capacity) return true;
    if (positions > this.maxCapacity) return false;
    const generous = Math.min(this.maxCapacity, roundUp(Math.max(positions, this.capacity + Math.max(this.chunk, this.capacity / 2)), this.chunk));
    const tight = Math.min(this.maxCapacity, roundUp(positions, KV_MIN_GROWTH));
    for (const target of generous > tight ? [generous, tight] : [tight]) {
      try {
        await this.growTo(target);
        return true;
      } catch (e) {
        if (!(e instanceof ClawError && e.code === 'clw-gpu-oom')) throw e;
      }
    }
    this.maxCapacity = this.capacity;
    return false;
  }

  /** Per layer: a bigger buffer, the old rows copied in, the old buffer freed. */
  private async growTo(target: number): Promise<void> {
    for (const list of [this.keys, this.values]) {
      for (let l = 0; l < this.nLayers; l++) {
        if (!this.hasRows(l)) continue;
        const old = list[l];
        const bigger = await this.allocator.alloc('kv', this.bytesFor(target, l), STORAGE_USAGE, `${list === this.keys ? 'k' : 'v'} cache ${l}`);
        const encoder = this.device.createCommandEncoder({ label: 'kv cache growth' });
        encoder.copyBufferToBuffer(old, 0, bigger, 0, this.bytesFor(this.capacity, l));
        this.device.queue.submit([encoder.finish()]);
        // Destroying a buffer that submitted work still reads is allowed: the copy completes first.
        this.allocator.free(old);
        list[l] = bigger;
        this.buffersVersion++;
      }
    }
    // Layers already grown hold `target` positions; a failure above leaves a
    // mix, which is harmless: capacity only moves once all of them grew.
    this.capacity = target;
    this.growths++;
  }

  /**
   * Context shift: of the `used` positions, keep 0..nKeep-1, drop the `drop`
   * after them, and move the rest down by `drop`. Keys are rotated back by
   * `drop` positions with the same rope the forward pass applied (rotations
   * compose, so rotating by -drop equals having roped at the new position,
   * up to rounding). Needs one temporary buffer of the moved rows.
   */
  async shift(ops: GpuOps, ropeOf: (layer: number) => KeyRope, nKvHeads: number, nKeep: number, drop: number, used: number): Promise<void> {
    const moved = used - nKeep - drop;
    if (!(nKeep >= 0 && drop > 0 && moved >= 0 && used <= this.capacity)) {
      throw new ClawError('clw-bad-request', `invalid context shift: keep ${nKeep}, drop ${drop}, used ${used}, capacity ${this.capacity}`);
    }
    if (moved === 0) return;
    if (this.widths.some((w) => w !== this.kvDim)) throw new ClawError('clw-bad-request', 'a KV cache whose layers differ in width cannot shift in place');
    const width = this.kvDim;
    // f32 rows for the keys' rotation (an f16 cache unpacks into it and packs back), also the staging of the value move.
    const tmpBuffer = await this.allocator.alloc('kv', moved * width * F32, STORAGE_USAGE, 'kv shift rows');
    const tmp: ActBuffer = { buffer: tmpBuffer, length: moved * width };
    try {
      ops.begin();
      for (let l = 0; l < this.nLayers; l++) {
        if (!this.hasRows(l)) continue;
        ops.readCacheRows(this.keys[l], nKeep + drop, moved, width, tmp, this.kvType);
        // Every moved key turns by the same angle: treat the rows as the heads of one token at position `drop`, rotated backwards.
        const rope = ropeOf(l);
        // Layers without rope (smollm3's NoPE layers: nRot 0) keep their keys as they are.
        if (rope.nRot > 0) ops.rope(tmp, 1, { ...rope, nHeads: moved * nKvHeads, startPos: drop, freqScale: -rope.freqScale });
        ops.writeCacheRows(tmp, this.keys[l], nKeep, moved, width, this.kvType);
        // Values only move: their words are copied as they are, whatever the element type.
        const words = (moved * width * kvBytesPerElement(this.kvType)) / F32;
        const fromWord = ((nKeep + drop) * width * kvBytesPerElement(this.kvType)) / F32;
        const toWord = (nKeep * width * kvBytesPerElement(this.kvType)) / F32;
        const v: ActBuffer = { buffer: this.values[l], length: this.bytesFor(this.capacity) / F32 };
        ops.copy(v, fromWord, tmp, 0, words);
        ops.copy(tmp, 0, v, toWord, words);
      }
      ops.submit();
    } finally {
      // Queue order: the copies above complete before the buffer goes away.
      this.allocator.free(tmpBuffer);
    }
  }

  /** Frees every buffer of the cache. */
  free(): void {
    for (const b of new Set([...this.keys, ...this.values])) this.allocator.free(b);
    for (const s of [...this.states, ...this.savedStates]) for (const b of s ?? []) this.allocator.free(b);
    this.keys.length = 0;
    this.values.length = 0;
    this.states.length = 0;
    this.savedStates.length = 0;
    this.savedSeen = -1;
    this.placeholder = null;
    this.capacity = 0;
  }
}

function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}
