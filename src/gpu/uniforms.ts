// Kernel parameters without per-token allocation: every dispatch gets a
// 256-byte slot in a ring of uniform buffers. Slots are filled on the CPU
// while recording and uploaded in one writeBuffer per ring buffer just
// before submit, so the queue sees: write params, run the commands that
// read them. The ring only grows (by whole buffers) when one submit records
// more dispatches than it has ever held; after that nothing is allocated.

import type { GpuAllocator } from './allocator';
import { ropeMscale } from './ops-api';

const SLOT_BYTES = 256;
const SLOTS_PER_BUFFER = 256;
const UNIFORM_USAGE = 0x40 | 0x08; // GPUBufferUsage.UNIFORM | COPY_DST

export interface UniformSlot {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

/** Fields of a kernel's Params struct, in declaration order; all are 4-byte scalars. */
export type ParamField = { u32: number } | { f32: number };

/** A u32 or f32 parameter field. */
export const u32 = (v: number): ParamField => ({ u32: v });
export const f32 = (v: number): ParamField => ({ f32: v });

export class UniformRing {
  private readonly buffers: GPUBuffer[] = [];
  private readonly staging: ArrayBuffer[] = [];
  private used = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly allocator: GpuAllocator,
  ) {}

  /** Writes the fields into the next free slot. */
  push(fields: readonly ParamField[]): UniformSlot {
    if (fields.length * 4 > SLOT_BYTES) throw new Error(`uniform params too large: ${fields.length} fields`);
    const bufferIndex = Math.floor(this.used / SLOTS_PER_BUFFER);
    if (bufferIndex === this.buffers.length) this.grow();
    const offset = (this.used % SLOTS_PER_BUFFER) * SLOT_BYTES;
    const view = new DataView(this.staging[bufferIndex], offset, SLOT_BYTES);
    fields.forEach((field, i) => {
      if ('u32' in field) view.setUint32(i * 4, field.u32 >>> 0, true);
      else view.setFloat32(i * 4, field.f32, true);
    });
    this.used++;
    // Uniform bindings must cover the whole struct, which WGSL rounds up to 16 bytes.
    return { buffer: this.buffers[bufferIndex], offset, size: Math.max(16, Math.ceil((fields.length * 4) / 16) * 16) };
  }

  /** Uploads the slots used since the last flush; call right before queue.submit. */
  flush(): void {
    let remaining = this.used;
    for (let i = 0; remaining > 0; i++) {
      const slots = Math.min(remaining, SLOTS_PER_BUFFER);
      this.device.queue.writeBuffer(this.buffers[i], 0, this.staging[i], 0, slots * SLOT_BYTES);
      remaining -= slots;
    }
    this.used = 0;
  }

  private grow(): void {
    const index = this.buffers.length;
    this.buffers.push(this.allocator.allocSync('uniforms', SLOT_BYTES * SLOTS_PER_BUFFER, UNIFORM_USAGE, `uniform ring ${index}`));
    this.staging.push(new ArrayBuffer(SLOT_BYTES * SLOTS_PER_BUFFER));
  }
}

/**
 * The rotary-angle fields rope.wgsl and rope_kv.wgsl share, in their Params
 * order: theta_scale (freq_base^(-2 / n_rot), in f32 as ggml), freq_scale,
 * neox, has_freq_factors, mscale, then YaRN's ext_factor, corr_low, corr_high.
 */
function ropeAngleFields(p: Omit<import('./ops-api').RopeParams, 'nHeads' | 'startPos' | 'headDim'>): ParamField[] {
  return [
    { f32: Math.fround(p.freqBase ** (-2 / p.nRot)) },
    { f32: p.freqScale },
    { u32: p.neox ? 1 : 0 },
    { u32: p.freqFactors ? 1 : 0 },
    { f32: ropeMscale(p) },
    { f32: p.yarn?.extFactor ?? 0 },
    { f32: p.yarn?.corrLow ?? 0 },
    { f32: p.yarn?.corrHigh ?? 0 },
    { f32: p.temperature?.scale ?? 0 },
    { u32: p.temperature?.length ?? 1 },
  ];
}

/** The RopeStore uniform struct (shaders/rope_store.wgsl): rotated dims, angle terms, the q/k norm's epsilon (0 where there is none). */
export function ropeStoreFields(p: Omit<import('./ops-api').RopeParams, 'nHeads' | 'startPos' | 'headDim'> & { eps?: number }): ParamField[] {
  return [{ u32: p.nRot }, ...ropeAngleFields(p), { f32: p.eps ?? 0 }];
}
