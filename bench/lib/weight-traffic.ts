// Weight bytes a dispatch list reads, seen from outside the engine: wraps
// the device (from before the model loads) to learn which buffers hold
// weights (created with STORAGE | COPY_DST only, the weights' usage) and
// which buffers each bind group binds, then sums, per dispatch, the weight
// bytes its bind groups bind. A kernel is assumed to read each bound weight
// byte once (true of the decode matvecs: one workgroup per row block); the
// embedding lookup (a pipeline whose label names embedRows) reads one row
// of the table per token. For benchmarks only.

import { WEIGHT_USAGE } from '../../src/gpu/allocator';

export interface WeightTraffic {
  /** Weight bytes bound by the dispatches counted since the last reset. */
  readonly bytes: () => number;
  reset(): void;
  stop(): void;
}

/** Starts watching `device`; `tableRows` gives the rows of the embedding table (nVocab) for the lookup's share. */
export function watchWeightTraffic(device: GPUDevice, tableRows: () => number): WeightTraffic {
  const weightBuffers = new WeakSet<GPUBuffer>();
  const bound = new WeakMap<GPUBindGroup, number>();
  let bytes = 0;
  const restores: (() => void)[] = [];
  const patch = <T extends object, K extends keyof T & string>(target: T, name: K, make: (original: T[K]) => T[K]) => {
    const own = Object.prototype.hasOwnProperty.call(target, name);
    const original = target[name];
    target[name] = make(original);
    restores.push(() => {
      if (own) target[name] = original;
      else delete (target as Record<string, unknown>)[name];
    });
  };
  patch(device, 'createBuffer', (original) =>
    function (this: GPUDevice, d: GPUBufferDescriptor) {
      const b = original.call(this, d);
      if (d.usage === WEIGHT_USAGE) weightBuffers.add(b);
      return b;
    },
  );
  patch(device, 'createBindGroup', (original) =>
    function (this: GPUDevice, d: GPUBindGroupDescriptor) {
      const g = original.call(this, d);
      let sum = 0;
      for (const e of d.entries) {
        const r = e.resource as GPUBufferBinding;
        if (r && typeof r === 'object' && 'buffer' in r && weightBuffers.has(r.buffer)) sum += r.size ?? r.buffer.size - (r.offset ?? 0);
      }
      bound.set(g, sum);
      return g;
    },
  );
  patch(device, 'createCommandEncoder', (original) =>
    function (this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
      const encoder = original.call(this, d);
      const begin = encoder.beginComputePass.bind(encoder);
      encoder.beginComputePass = (pd?: GPUComputePassDescriptor) => {
        const pass = begin(pd);
        let embedding = false;
        let groupBytes = 0;
        const setPipeline = pass.setPipeline.bind(pass);
        const setBindGroup = pass.setBindGroup.bind(pass) as (i: number, g: GPUBindGroup | null, ...rest: unknown[]) => void;
        const dispatch = pass.dispatchWorkgroups.bind(pass);
        const indirect = pass.dispatchWorkgroupsIndirect.bind(pass);
        pass.setPipeline = (p: GPUComputePipeline) => {
          embedding = /embed/i.test(p.label ?? '');
          setPipeline(p);
        };
        pass.setBindGroup = ((i: number, g: GPUBindGroup | null, ...rest: unknown[]) => {
          groupBytes = g ? (bound.get(g) ?? 0) : 0;
          setBindGroup(i, g, ...rest);
        }) as GPUComputePassEncoder['setBindGroup'];
        const count = () => (bytes += embedding ? groupBytes / Math.max(1, tableRows()) : groupBytes);
        pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
          count();
          dispatch(x, y, z);
        };
        pass.dispatchWorkgroupsIndirect = (b: GPUBuffer, o: number) => {
          count();
          indirect(b, o);
        };
        return pass;
      };
      return encoder;
    },
  );
  return {
    bytes: () => bytes,
    reset: () => (bytes = 0),
    stop: () => {
      for (const r of restores.splice(0).reverse()) r();
    },
  };
}
