// GPU time of compute passes, from timestamp queries, seen from outside the
// engine (like weight-traffic.ts): `withTimestamps(gpu)` asks every device
// for the `timestamp-query` feature where the adapter has it, and
// `watchGpuTime(device)` gives every compute pass a begin and an end
// timestamp, resolved into one buffer as each encoder finishes and read
// once at the end. It separates what the GPU spends on a token from what
// the CPU around it costs (wall time per token). For benchmarks only.

/** Dawn's flags for timestamps at full resolution (Dawn rounds them by default): for createDawnGpu. */
export const FULL_RESOLUTION_TIMESTAMPS = ['disable-dawn-features=timestamp_quantization'];

const CAPACITY = 2048; // passes (two queries each; WebGPU allows 4096 queries per set)
/** Each pass resolves to its own slot: resolveQuerySet's destination offset is a multiple of 256. */
const SLOT = 256;

/** A GPU whose devices also get `timestamp-query` where their adapter has it. */
export function withTimestamps(gpu: GPU): GPU {
  return {
    ...gpu,
    getPreferredCanvasFormat: () => gpu.getPreferredCanvasFormat(),
    wgslLanguageFeatures: gpu.wgslLanguageFeatures,
    requestAdapter: async (options?: GPURequestAdapterOptions) => {
      const adapter = await gpu.requestAdapter(options);
      if (!adapter || !adapter.features.has('timestamp-query')) return adapter;
      const request = adapter.requestDevice.bind(adapter);
      return new Proxy(adapter, {
        get(target, name) {
          if (name === 'requestDevice')
            return (d?: GPUDeviceDescriptor) => request({ ...d, requiredFeatures: [...(d?.requiredFeatures ?? []), 'timestamp-query'] });
          const v = Reflect.get(target, name, target);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
    },
  } as GPU;
}

export interface PassTimes {
  /** Dispatches the pass recorded. */
  dispatches: number;
  /** Passes with that many dispatches, and their median and total GPU ms. */
  passes: number;
  medianMs: number;
  totalMs: number;
}

export interface GpuTimer {
  /** GPU ms of every pass since the last reset, in order, with its dispatch count. */
  read(): Promise<{ ms: number; dispatches: number }[]>;
  reset(): void;
  stop(): void;
}

/** Starts timing `device`'s compute passes; null where the device lacks `timestamp-query`. */
export function watchGpuTime(device: GPUDevice): GpuTimer | null {
  if (!device.features.has('timestamp-query')) return null;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * CAPACITY, label: 'gpu-time' });
  const resolved = device.createBuffer({ size: SLOT * CAPACITY, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'gpu-time resolve' });
  const dispatches: number[] = [];
  let next = 0;
  const original = device.createCommandEncoder;
  device.createCommandEncoder = function (this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
    const encoder = original.call(this, d);
    const first = next;
    const begin = encoder.beginComputePass.bind(encoder);
    encoder.beginComputePass = (pd?: GPUComputePassDescriptor) => {
      if (next >= CAPACITY || pd?.timestampWrites) return begin(pd);
      const i = next++;
      dispatches[i] = 0;
      const pass = begin({ ...pd, timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        dispatches[i]++;
        dispatch(x, y, z);
      };
      const indirect = pass.dispatchWorkgroupsIndirect.bind(pass);
      pass.dispatchWorkgroupsIndirect = (b: GPUBuffer, o: number) => {
        dispatches[i]++;
        indirect(b, o);
      };
      return pass;
    };
    const finish = encoder.finish.bind(encoder);
    encoder.finish = (fd?: GPUCommandBufferDescriptor) => {
      for (let i = first; i < next; i++) encoder.resolveQuerySet(querySet, 2 * i, 2, resolved, SLOT * i);
      return finish(fd);
    };
    return encoder;
  };
  return {
    async read() {
      const n = next;
      if (n === 0) return [];
      const staging = device.createBuffer({ size: SLOT * n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'gpu-time read' });
      const encoder = original.call(device);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, SLOT * n);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const t = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.destroy();
      const at = (i: number) => (SLOT / 8) * i;
      return Array.from({ length: n }, (_, i) => ({ ms: Number(t[at(i) + 1] - t[at(i)]) / 1e6, dispatches: dispatches[i] }));
    },
    reset() {
      next = 0;
    },
    stop() {
      device.createCommandEncoder = original;
      querySet.destroy();
      resolved.destroy();
    },
  };
}

/** Passes grouped by dispatch count, most passes first. */
export function groupPasses(passes: { ms: number; dispatches: number }[]): PassTimes[] {
  const by = new Map<number, number[]>();
  for (const p of passes) by.set(p.dispatches, [...(by.get(p.dispatches) ?? []), p.ms]);
  return [...by.entries()]
    .map(([dispatches, ms]) => {
      const s = [...ms].sort((a, b) => a - b);
      return { dispatches, passes: ms.length, medianMs: s[ms.length >> 1], totalMs: ms.reduce((a, b) => a + b, 0) };
    })
    .sort((a, b) => b.passes - a.passes || b.dispatches - a.dispatches);
}
