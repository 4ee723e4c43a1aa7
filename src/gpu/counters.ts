// What the CPU asks of the GPU, counted by wrapping the WebGPU objects
// themselves (not the engine's own bookkeeping): compute dispatches, bind
// groups and buffers created, queue submits and writes, read-back maps and
// their bytes, error scopes, and the JS time from creating a command encoder
// to submitting it. For benchmarks and the tests that hold the decode path
// to its per-token budget; never on in normal use.

export interface GpuCounts {
  dispatches: number;
  bindGroups: number;
  buffers: number;
  pipelines: number;
  submits: number;
  writeBuffers: number;
  bytesWritten: number;
  maps: number;
  bytesReadBack: number;
  errorScopes: number;
  /** JS milliseconds between createCommandEncoder and the submit that carries it. */
  recordMs: number;
}

export function zeroCounts(): GpuCounts {
  return { dispatches: 0, bindGroups: 0, buffers: 0, pipelines: 0, submits: 0, writeBuffers: 0, bytesWritten: 0, maps: 0, bytesReadBack: 0, errorScopes: 0, recordMs: 0 };
}

export interface GpuCounter {
  /** Counts since start (or the last reset). */
  readonly counts: GpuCounts;
  reset(): void;
  /** Puts every wrapped method back. */
  stop(): void;
}

type Method = (...args: never[]) => unknown;

/** Starts counting on `device` (and every buffer's map methods) until stop(). */
export function countGpuWork(device: GPUDevice): GpuCounter {
  const counts = zeroCounts();
  const restores: (() => void)[] = [];
  const wrap = <T extends object>(target: T, name: keyof T & string, before: (args: unknown[]) => void, after?: (result: unknown, args: unknown[]) => void) => {
    const original = target[name] as unknown as Method;
    const own = Object.prototype.hasOwnProperty.call(target, name);
    (target as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
      before(args);
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      after?.(result, args);
      return result;
    };
    restores.push(() => {
      if (own) (target as Record<string, unknown>)[name] = original;
      else delete (target as Record<string, unknown>)[name];
    });
  };
  let encoderStart = -1;
  const countPass = (pass: GPUComputePassEncoder) => {
    const dispatch = pass.dispatchWorkgroups.bind(pass);
    const indirect = pass.dispatchWorkgroupsIndirect.bind(pass);
    pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
      counts.dispatches++;
      dispatch(x, y, z);
    };
    pass.dispatchWorkgroupsIndirect = (buffer: GPUBuffer, offset: number) => {
      counts.dispatches++;
      indirect(buffer, offset);
    };
  };
  wrap(device, 'createBindGroup', () => counts.bindGroups++);
  wrap(device, 'createBuffer', () => counts.buffers++);
  wrap(device, 'createComputePipeline', () => counts.pipelines++);
  wrap(device, 'createComputePipelineAsync', () => counts.pipelines++);
  wrap(device, 'pushErrorScope', () => counts.errorScopes++);
  wrap(
    device,
    'createCommandEncoder',
    () => {
      if (encoderStart < 0) encoderStart = performance.now();
    },
    (encoder) => {
      const e = encoder as GPUCommandEncoder;
      const begin = e.beginComputePass.bind(e);
      e.beginComputePass = (descriptor?: GPUComputePassDescriptor) => {
        const pass = begin(descriptor);
        countPass(pass);
        return pass;
      };
    },
  );
  wrap(device.queue, 'submit', () => {
    counts.submits++;
    if (encoderStart >= 0) counts.recordMs += performance.now() - encoderStart;
    encoderStart = -1;
  });
  wrap(device.queue, 'writeBuffer', (args) => {
    counts.writeBuffers++;
    const data = args[2] as ArrayBufferView | ArrayBuffer;
    const size = args[4] as number | undefined;
    const elementBytes = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
    counts.bytesWritten += size !== undefined ? size * elementBytes : data.byteLength;
  });
  // Buffers share one prototype: wrap its map methods for the counting session.
  const probe = device.createBuffer({ size: 4, usage: 0x01 | 0x08, label: 'counter probe' });
  counts.buffers = 0;
  const bufferProto = Object.getPrototypeOf(probe) as GPUBuffer;
  probe.destroy();
  wrap(bufferProto, 'mapAsync', () => counts.maps++);
  wrap(
    bufferProto,
    'getMappedRange',
    () => undefined,
    (range) => (counts.bytesReadBack += (range as ArrayBuffer).byteLength),
  );
  return {
    counts,
    reset: () => Object.assign(counts, zeroCounts()),
    stop: () => {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}
