// A loaded model: weights, KV cache and scratch buffers on the GPU, and the
// one operation the engine needs: evaluate tokens at positions, get the
// logits of the last one.

import { ClawError } from '../errors';
import type { GpuAllocator } from '../gpu/allocator';
import type { ActBuffer, GpuOps } from '../gpu/ops-api';
import type { Hyperparams } from './hparams';
import type { KvCache } from './kv-cache';
import type { ModelWeights } from './weights';
import { recordForward, type Scratch } from './forward';

const STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC (GPUBufferUsage, spelled out so Node needs no globals here)

async function act(allocator: GpuAllocator, length: number, label: string): Promise<ActBuffer> {
  const buffer = await allocator.alloc('activations', Math.max(4, length * 4), STORAGE, label);
  return { buffer, length };
}

export async function createScratch(allocator: GpuAllocator, hp: Hyperparams, capacity: number): Promise<Scratch> {
  const qDim = hp.nHeads * hp.headDim;
  return {
    capacity,
    ids: await allocator.alloc('activations', Math.max(16, capacity * 4), STORAGE, 'token ids'),
    x: await act(allocator, capacity * hp.nEmbd, 'x'),
    xb: await act(allocator, capacity * Math.max(hp.nEmbd, qDim), 'xb'),
    q: await act(allocator, capacity * qDim, 'q'),
    k: await act(allocator, capacity * hp.kvDim, 'k'),
    v: await act(allocator, capacity * hp.kvDim, 'v'),
    attn: await act(allocator, capacity * qDim, 'attn'),
    gate: await act(allocator, capacity * hp.nFf, 'gate'),
    up: await act(allocator, capacity * hp.nFf, 'up'),
    last: await act(allocator, hp.nEmbd, 'last'),
    logits: await act(allocator, hp.nVocab, 'logits'),
  };
}

export async function createKvCache(allocator: GpuAllocator, hp: Hyperparams, capacity: number): Promise<KvCache> {
  const bytes = capacity * hp.kvDim * 4;
  const keys: GPUBuffer[] = [];
  const values: GPUBuffer[] = [];
  for (let l = 0; l < hp.nLayers; l++) {
    keys.push(await allocator.alloc('kv', bytes, STORAGE, `k cache ${l}`));
    values.push(await allocator.alloc('kv', bytes, STORAGE, `v cache ${l}`));
  }
  return { capacity, keys, values };
}

export class LlamaModel {
  constructor(
    readonly ops: GpuOps,
    readonly hp: Hyperparams,
    readonly weights: ModelWeights,
    readonly kv: KvCache,
    readonly scratch: Scratch,
  ) {}

  /** Evaluates tokens at positions startPos.. in batches; returns the last token's logits. */
  async eval(tokens: readonly number[], startPos: number): Promise<Float32Array> {
    if (tokens.length === 0) throw new Error('eval needs at least one token');
    if (startPos + tokens.length > this.kv.capacity) throw new Error(`eval past the KV cache: ${startPos + tokens.length} > ${this.kv.capacity}`);
    const B = this.scratch.capacity;
    const device = this.ops.device;
    // Any GPU error inside a forward pass is a bug or a lost device: surface
    // it as a typed error instead of returning garbage logits.
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    device.pushErrorScope('internal');
    let logits: Float32Array | null = null;
    try {
      for (let i = 0; i < tokens.length; i += B) {
        const chunk = tokens.slice(i, i + B);
        device.queue.writeBuffer(this.scratch.ids, 0, new Uint32Array(chunk));
        this.ops.begin();
        recordForward(this.ops, this.hp, this.weights, this.kv, this.scratch, chunk.length, startPos + i);
        this.ops.submit();
      }
      logits = await this.ops.read(this.scratch.logits, 0, this.hp.nVocab);
    } finally {
      const [internal, validation, oom] = [await device.popErrorScope(), await device.popErrorScope(), await device.popErrorScope()];
      if (oom) throw new ClawError('clw-gpu-oom', `GPU out of memory during a forward pass: ${oom.message}`);
      const err = validation ?? internal;
      if (err) throw new ClawError('clw-llm-crash', `GPU error during a forward pass: ${err.message.split('\n')[0]}`, { details: { gpuMessage: err.message } });
    }
    return logits!;
  }
}
