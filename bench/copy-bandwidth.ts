// The memory-bandwidth ceiling of an adapter as the benchmarks see it: a
// plain copy kernel (one vec4<u32> per invocation, grid-stride loop) moving
// a buffer of `bytes` into another, timed like the kernels it is compared
// with (REPEATS dispatches in one submit, the median or the fastest of RUNS
// runs after WARMUP).
// GB/s counts bytes read plus bytes written. Not a test.

const COPY_WGSL = `
@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let n = arrayLength(&src);
  for (var i = gid.x; i < n; i += nwg.x * 256u) {
    dst[i] = src[i];
  }
}
`;

export interface Timing {
  runs: number;
  warmup: number;
  repeats: number;
  /** How runs become one figure: the median, or the fastest (on a shared machine, the run least disturbed). */
  stat: 'median' | 'min';
}

export function summarize(values: number[], stat: Timing['stat']): number {
  const s = [...values].sort((a, b) => a - b);
  if (stat === 'min') return s[0];
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Median ms per dispatch of `record(pass)` (one dispatch), REPEATS to a submit. */
export async function timeDispatches(device: GPUDevice, timing: Timing, record: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < timing.warmup + timing.runs; run++) {
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let i = 0; i < timing.repeats; i++) record(pass);
    pass.end();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (run >= timing.warmup) times.push((performance.now() - t0) / timing.repeats);
  }
  return summarize(times, timing.stat);
}

/** Copy bandwidth in GB/s (read + written) for a `bytes`-byte buffer (a multiple of 16). */
export async function copyBandwidth(device: GPUDevice, bytes: number, timing: Timing): Promise<{ ms: number; gbPerS: number }> {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const src = device.createBuffer({ size: bytes, usage, label: 'copy bench src' });
  const dst = device.createBuffer({ size: bytes, usage, label: 'copy bench dst' });
  const module = device.createShaderModule({ code: COPY_WGSL, label: 'copy bench' });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: src } },
      { binding: 1, resource: { buffer: dst } },
    ],
  });
  const groups = Math.min(Math.ceil(bytes / 16 / 256), device.limits.maxComputeWorkgroupsPerDimension);
  const ms = await timeDispatches(device, timing, (pass) => {
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups);
  });
  src.destroy();
  dst.destroy();
  return { ms, gbPerS: (2 * bytes) / (ms * 1e6) };
}
