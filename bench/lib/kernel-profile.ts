// GPU time per kernel of the decode pass, for benchmarks: the pass's
// recorded dispatch list (engine internals) replayed with one compute pass
// per dispatch, each with a begin and an end timestamp, `reps` times; per
// dispatch the median, then summed by what it computes (its label with the
// layer number dropped: "matvecFused attn_q.weight+attn_k.weight+attn_v.weight"
// covers every layer's q/k/v). A pass per dispatch adds a pass boundary to
// each, so the sum is somewhat more than the one-pass decode pass's time;
// the shares are what to read. The step buffer keeps the last token's
// position, so attention sees the context the generation left.

import type { ClawEngine } from '../../src/engine/engine';
import { encodeDispatches, type RecordedDispatch } from '../../src/gpu/recorded';

export interface KernelTime {
  /** What the dispatches compute (RecordedDispatch.label, layer numbers dropped). */
  kernel: string;
  /** Dispatches per token. */
  dispatches: number;
  /** GPU ms per token (the dispatches' medians, summed). */
  ms: number;
}

/** The decode pass's recorded list (engine internals: a benchmark looks inside). */
export function decodeDispatches(engine: ClawEngine): readonly RecordedDispatch[] {
  const model = (engine as unknown as { session: { model: { decode: { dispatches: readonly RecordedDispatch[] } | null } } | null }).session?.model;
  if (!model?.decode) throw new Error('the model has no decode pass');
  return model.decode.dispatches;
}

/** Per-kernel GPU time of one decode pass, most expensive first; null where the device has no `timestamp-query`. */
export async function profileDecodeKernels(engine: ClawEngine, reps = 5): Promise<KernelTime[] | null> {
  const device = engine.ctx.device;
  if (!device.features.has('timestamp-query')) return null;
  const list = decodeDispatches(engine);
  const n = list.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * n, label: 'kernel profile' });
  const resolved = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'kernel profile resolve' });
  const staging = device.createBuffer({ size: 16 * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'kernel profile read' });
  const perDispatch: number[][] = list.map(() => []);
  try {
    for (let r = 0; r < reps; r++) {
      const encoder = device.createCommandEncoder({ label: 'kernel profile' });
      for (let i = 0; i < n; i++) {
        const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        encodeDispatches(pass, [list[i]]);
        pass.end();
      }
      encoder.resolveQuerySet(querySet, 0, 2 * n, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, 16 * n);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.unmap();
      for (let i = 0; i < n; i++) perDispatch[i].push(Number(t[2 * i + 1] - t[2 * i]) / 1e6);
    }
  } finally {
    querySet.destroy();
    resolved.destroy();
    staging.destroy();
  }
  const byKernel = new Map<string, KernelTime>();
  list.forEach((d, i) => {
    const kernel = (d.label ?? d.pipeline.label ?? '?').replace(/\bblk\.\d+\./g, '');
    const times = [...perDispatch[i]].sort((a, b) => a - b);
    const k = byKernel.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
    k.dispatches++;
    k.ms += times[times.length >> 1];
    byKernel.set(kernel, k);
  });
  return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
}

/** A markdown table of one model's profile: each kernel's dispatches, GPU ms per token and share. */
export function kernelProfileTable(model: string, kernels: readonly KernelTime[]): string {
  const total = kernels.reduce((s, k) => s + k.ms, 0);
  return [
    `${model}: GPU ms per decoded token by kernel, one compute pass per dispatch (sum ${total.toFixed(3)} ms)`,
    '',
    '| kernel | dispatches | GPU ms | share |',
    '|---|---|---|---|',
    ...kernels.map((k) => `| ${k.kernel} | ${k.dispatches} | ${k.ms.toFixed(3)} | ${((100 * k.ms) / total).toFixed(1)}% |`),
  ].join('\n');
}
