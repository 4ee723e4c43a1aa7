// Runs the GPU sampler the way the decode loop will: one Step write and one
// replay of its dispatch list per token, the logits of each step copied into
// the logits buffer first. All steps of a run go in one submit (the Step
// values and logits come from source buffers by copies), and the chosen ids
// are copied out per step, so a run costs one readback.

import type { GpuContext } from '../../../src/gpu/device';
import { GpuSampler } from '../../../src/gpu/gpu-sampler';
import { encodeDispatches, STEP_BYTES } from '../../../src/gpu/recorded';
import type { SamplingOptions } from '../../../src/engine/types';

const STORAGE = 0x80 | 0x08 | 0x04;
const UNIFORM = 0x40 | 0x08;

export interface SamplerRig {
  sampler: GpuSampler;
  nVocab: number;
  /** Draws steps.length tokens: step k samples logits steps[k] with sample_index drawn + k (see GpuSampler.begin); `mask`: a token bitmask applied to every step. */
  run(options: SamplingOptions, history: readonly number[], steps: readonly Float32Array[], drawn?: number, mask?: Uint32Array<ArrayBuffer>): Promise<number[]>;
  destroy(): void;
}

/** `device` may be a wrapper of ctx.device (the allocation-counting test). */
export async function samplerRig(ctx: GpuContext, nVocab: number, device: GPUDevice = ctx.device): Promise<SamplerRig> {
  const a = ctx.allocator;
  const logits = await a.alloc('activations', nVocab * 4, STORAGE, 'rig logits');
  const step = await a.alloc('uniforms', STEP_BYTES, UNIFORM, 'rig step');
  const tokenOut = await a.alloc('activations', 16, STORAGE, 'rig token');
  const sampler = await GpuSampler.create(device, a, { logits, step, tokenOut, nVocab });
  const owned = [logits, step, tokenOut];
  return {
    sampler,
    nVocab,
    async run(options, history, steps, drawn = 0, mask) {
      const d = ctx.device;
      const n = steps.length;
      await sampler.begin(options, history, drawn, mask !== undefined);
      if (mask) sampler.writeMask(mask);
      const list = sampler.dispatches();
      const logitsSrc = d.createBuffer({ size: n * nVocab * 4, usage: 0x04 | 0x08 });
      steps.forEach((l, k) => d.queue.writeBuffer(logitsSrc, k * nVocab * 4, l.buffer, l.byteOffset, l.byteLength));
      const stepSrc = d.createBuffer({ size: n * STEP_BYTES, usage: 0x04 | 0x08 });
      const stepValues = new Uint32Array(n * 4);
      for (let k = 0; k < n; k++) stepValues.set([history.length + k, drawn + k], k * 4);
      d.queue.writeBuffer(stepSrc, 0, stepValues);
      const ids = d.createBuffer({ size: Math.max(16, n * 4), usage: 0x04 | 0x08 });
      const readback = d.createBuffer({ size: Math.max(16, n * 4), usage: 0x01 | 0x08 });
      const encoder = d.createCommandEncoder();
      for (let k = 0; k < n; k++) {
        encoder.copyBufferToBuffer(logitsSrc, k * nVocab * 4, logits, 0, nVocab * 4);
        encoder.copyBufferToBuffer(stepSrc, k * STEP_BYTES, step, 0, STEP_BYTES);
        const pass = encoder.beginComputePass();
        encodeDispatches(pass, list);
        pass.end();
        encoder.copyBufferToBuffer(tokenOut, 0, ids, k * 4, 4);
      }
      encoder.copyBufferToBuffer(ids, 0, readback, 0, readback.size);
      d.queue.submit([encoder.finish()]);
      await readback.mapAsync(1);
      const out = Array.from(new Uint32Array(readback.getMappedRange().slice(0, n * 4)));
      readback.unmap();
      for (const b of [logitsSrc, stepSrc, ids, readback]) b.destroy();
      return out;
    },
    destroy() {
      sampler.destroy();
      for (const b of owned) a.free(b);
    },
  };
}
