// The recurrent state of a sequence in a model with gated delta-net layers
// (qwen35): per such layer, the conv state (the last conv_kernel - 1 inputs
// of every conv channel) and the delta-rule state (a stateSize x stateSize
// matrix per value head), f32 on the GPU. Unlike the KV cache it does not
// grow with the context, and it cannot be rewound: it holds the whole
// sequence it has seen, so evaluating from a position before its end means
// starting again from position 0 (the kernels zero it there; see
// docs/memory.md).

import { STORAGE_USAGE, type GpuAllocator } from '../../gpu/allocator';
import { deltaNetDims, type DeltaNetShape } from './qwen35';

const F32 = 4;

/** Bytes of one recurrent layer's conv and delta-rule state. */
function layerBytes(d: DeltaNetShape): { conv: number; ssm: number } {
  return { conv: (d.convKernel - 1) * deltaNetDims(d).convDim * F32, ssm: d.vHeads * d.stateSize * d.stateSize * F32 };
}

/** Bytes the recurrent state of one sequence takes (0 without delta-net layers): for the memory plan. */
export function recurrentStateBytes(d: DeltaNetShape | undefined): number {
  if (!d) return 0;
  const { conv, ssm } = layerBytes(d);
  return d.recurrentLayers.filter(Boolean).length * (conv + ssm);
}

export interface LayerState {
  conv: GPUBuffer;
  ssm: GPUBuffer;
}

export class RecurrentState {
  private constructor(
    private readonly allocator: GpuAllocator,
    private readonly layers: (LayerState | null)[],
  ) {}

  /** Allocates every recurrent layer's state (contents are set by the first evaluation, at position 0). */
  static async create(allocator: GpuAllocator, d: DeltaNetShape): Promise<RecurrentState> {
    const { conv, ssm } = layerBytes(d);
    const state = new RecurrentState(allocator, []);
    try {
      for (let l = 0; l < d.recurrentLayers.length; l++) {
        if (!d.recurrentLayers[l]) {
          state.layers.push(null);
          continue;
        }
        const c = await allocator.alloc('kv', conv, STORAGE_USAGE, `conv state ${l}`);
        try {
          state.layers.push({ conv: c, ssm: await allocator.alloc('kv', ssm, STORAGE_USAGE, `delta-net state ${l}`) });
        } catch (e) {
          allocator.free(c);
          throw e;
        }
      }
    } catch (e) {
      state.free();
      throw e;
    }
    return state;
  }

  /** Layer l's buffers, or null for a full-attention layer. */
  layer(l: number): LayerState | null {
    return this.layers[l] ?? null;
  }

  free(): void {
    for (const s of this.layers) {
      if (!s) continue;
      this.allocator.free(s.conv);
      this.allocator.free(s.ssm);
    }
    this.layers.length = 0;
  }
}
