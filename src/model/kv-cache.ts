// The KV cache: per layer, one buffer of keys and one of values, each a row
// of kvDim elements per position: f32, or (kvType 'f16', llama.cpp's default
// and half the memory) f16 pairs packed in u32 words, which every adapter
// reads with unpack2x16float. Attention reads one K and one V buffer per
// layer, so growing means a bigger buffer per layer with the old rows copied
// in (one layer at a time, so the transient extra is one old buffer), never
// a re-run of the prompt. A context shift drops rows in place and re-rotates
// the surviving keys to their new positions (llama.cpp's K-shift).

import { ClawError } from '../errors';
import { STORAGE_USAGE, type GpuAllocator } from '../gpu/allocator';
import { kvBytesPerElement, type ActBuffer, type GpuOps, type KvType, type RopeParams } from '../gpu/ops-api';
import { RecurrentState } from './arch/recurrent-state';
import type { DeltaNetShape } from './arch/qwen35';

const F32 = 4;

/** Positions the cache grows by at least (and rounds capacities to). */
export const KV_GROWTH_CHUNK = 256;
/** Positions a growth falls back to rounding to when a full chunk does not fit. */
export const KV_MIN_GROWTH = 16;

export interface KvCacheOptions {
  nLayers: number;
  kvDim: number;
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
  /** qwen35: its delta-net layers keep a recurrent state instead of keys and values (their K/V buffers stay empty). */
  deltaNet?: DeltaNetShape;
}

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
  /** The recurrent state of the delta-net layers (qwen35); null without them. */
  recurrent: RecurrentState | null = null;
  /** Layers whose K/V buffers hold rows (all but the delta-net layers). */
  private readonly kvLayer: (l: number) => boolean;
  private readonly chunk: number;

  private constructor(
    private readonly allocator: GpuAllocator,
    private readonly device: GPUDevice,
    readonly kvDim: number,
    readonly nLayers: number,
    maxCapacity: number,
    chunk: number,
    /** Element type of every row: what writeCacheRows and attention must be told. */
    readonly kvType: KvType,
    deltaNet?: DeltaNetShape,
  ) {
    this.maxCapacity = maxCapacity;
    this.chunk = chunk;
    this.kvLayer = (l) => !deltaNet?.recurrentLayers[l];
  }

  /** Allocates the cache: all of it, or (dynamic) a first chunk. Frees what it made if an allocation fails. */
  static async create(allocator: GpuAllocator, device: GPUDevice, o: KvCacheOptions): Promise<KvCache> {
    if (!(Number.isInteger(o.maxCapacity) && o.maxCapacity > 0)) throw new ClawError('clw-bad-request', `KV cache capacity ${o.maxCapacity} is not a positive integer`);
    const kvType = o.kvType ?? 'f32';
    if (kvType === 'f16' && o.kvDim % 2 !== 0) throw new ClawError('clw-bad-request', `an f16 KV cache needs an even kvDim, got ${o.kvDim}`);
    const chunk = Math.max(1, o.growthChunk ?? KV_GROWTH_CHUNK);
    const kv = new KvCache(allocator, device, o.kvDim, o.nLayers, o.maxCapacity, chunk, kvType, o.deltaNet);
    const first = o.dynamic ? Math.min(o.maxCapacity, roundUp(Math.max(1, o.initialPositions ?? chunk), chunk)) : o.maxCapacity;
    try {
      for (let l = 0; l < o.nLayers; l++) {
        kv.keys.push(await allocator.alloc('kv', kv.layerBytes(l, first), STORAGE_USAGE, `k cache ${l}`));
        kv.values.push(await allocator.alloc('kv', kv.layerBytes(l, first), STORAGE_USAGE, `v cache ${l}`));
      }
      if (o.deltaNet) kv.recurrent = await RecurrentState.create(allocator, o.deltaNet);
    } catch (e) {
      kv.free();
      throw e;
    }
    kv.capacity = first;
    return kv;
  }

  /** Bytes of one layer's K (or V) buffer at `positions`. */
  bytesFor(positions: number): number {
    return positions * this.kvDim * kvBytesPerElement(this.kvType);
  }

  /** Bytes of layer l's K (or V) buffer: a 16-byte placeholder for a layer without keys and values. */
  private layerBytes(l: number, positions: number): number {
    return this.kvLayer(l) ? this.bytesFor(positions) : 16;
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
    const oldBytes = this.bytesFor(this.capacity);
    for (const list of [this.keys, this.values]) {
      for (let l = 0; l < this.nLayers; l++) {
        if (!this.kvLayer(l)) continue;
        const old = list[l];
        const bigger = await this.allocator.alloc('kv', this.bytesFor(target), STORAGE_USAGE, `${list === this.keys ? 'k' : 'v'} cache ${l}`);
        const encoder = this.device.createCommandEncoder({ label: 'kv cache growth' });
        encoder.copyBufferToBuffer(old, 0, bigger, 0, oldBytes);
        this.device.queue.submit([encoder.finish()]);
        // Destroying a buffer that submitted work still reads is allowed: the copy completes first.
        this.allocator.free(old);
        list[l] = bigger;
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
    const width = this.kvDim;
    // f32 rows for the keys' rotation (an f16 cache unpacks into it and packs back), also the staging of the value move.
    const tmpBuffer = await this.allocator.alloc('kv', moved * width * F32, STORAGE_USAGE, 'kv shift rows');
    const tmp: ActBuffer = { buffer: tmpBuffer, length: moved * width };
    try {
      ops.begin();
      for (let l = 0; l < this.nLayers; l++) {
        if (!this.kvLayer(l)) continue;
        ops.readCacheRows(this.keys[l], nKeep + drop, moved, width, tmp, this.kvType);
        // Every moved key turns by the same angle: treat the rows as the heads of one token at position `drop`, rotated backwards.
        const rope = ropeOf(l);
        ops.rope(tmp, 1, { ...rope, nHeads: moved * nKvHeads, startPos: drop, freqScale: -rope.freqScale });
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
    for (const b of [...this.keys, ...this.values]) this.allocator.free(b);
    this.recurrent?.free();
    this.recurrent = null;
    this.keys.length = 0;
    this.values.length = 0;
    this.capacity = 0;
  }
}

function roundUp(n: number, step: number): number {
  return Math.ceil(n / step) * step;
}
