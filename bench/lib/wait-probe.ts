// Does waiting for the GPU cost the CPU? One long dispatch of known length
// (a dependent loop, calibrated to about `targetMs` on this adapter), then
// per way of waiting for it, the wall time, the main thread's CPU time, the
// whole process's, and Dawn's polling callbacks (dawn-poll.ts):
// - map: await mapAsync of a buffer the submission copies into (what the
//   decode loop does for each sampled id);
// - done: await queue.onSubmittedWorkDone();
// - sleep: setTimeout for the dispatch's calibrated length, then mapAsync
//   (no promise pending while asleep);
// - idle: setTimeout alone, no GPU work (the clocks' floor).
// On a real GPU the process's CPU beyond the main thread is the driver's; on
// SwiftShader it is the emulated GPU itself (its worker threads). For
// benchmarks only.

import { watchDawnPolling } from './dawn-poll';
import { mainThreadCpuMs, processCpuMs } from './thread-cpu';

const SPIN_WGSL = `
struct Params { n: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var x = gid.x;
  for (var i = 0u; i < params.n; i++) {
    x = x * 1664525u + 1013904223u;
  }
  out[gid.x] = x;
}
`;

export type WaitWay = 'map' | 'done' | 'sleep' | 'idle';

export interface WaitSample {
  way: WaitWay;
  wallMs: number;
  /** Main thread CPU ms (null where the system does not tell). */
  mainCpuMs: number | null;
  processCpuMs: number;
  /** Dawn's polling callbacks during the wait. */
  pollTicks: number;
  pollMs: number;
}

export interface WaitProbe {
  /** The dispatch's loop count and its calibrated length (submit to onSubmittedWorkDone). */
  iterations: number;
  dispatchMs: number;
  samples: WaitSample[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function probeGpuWait(device: GPUDevice, targetMs = 200): Promise<WaitProbe> {
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'wait probe params' });
  const out = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, label: 'wait probe out' });
  const read = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'wait probe read' });
  const module = device.createShaderModule({ code: SPIN_WGSL, label: 'wait probe' });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: params } },
      { binding: 1, resource: { buffer: out } },
    ],
  });
  const submit = (n: number) => {
    device.queue.writeBuffer(params, 0, new Uint32Array([n, 0, 0, 0]));
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, read, 0, 16);
    device.queue.submit([encoder.finish()]);
  };
  const timed = async (n: number) => {
    const t0 = performance.now();
    submit(n);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - t0;
  };
  try {
    // Calibrate: double the loop until it takes a tenth of the target, then scale (the loop is linear in n).
    // The first run pays for the pipeline's first use: not a sample.
    await timed(1);
    let n = 1 << 12;
    let ms = await timed(n);
    while (ms < targetMs / 10 && n < 2 ** 30) {
      n *= 2;
      ms = await timed(n);
    }
    const iterations = Math.min(2 ** 31, Math.max(1, Math.round((n * targetMs) / Math.max(ms, 1e-3))));
    const dispatchMs = await timed(iterations);
    const samples: WaitSample[] = [];
    for (const way of ['idle', 'map', 'done', 'sleep'] as WaitWay[]) {
      const poll = watchDawnPolling();
      const t0 = performance.now();
      const main0 = mainThreadCpuMs?.() ?? 0;
      const cpu0 = processCpuMs();
      if (way === 'idle') await sleep(dispatchMs);
      else {
        submit(iterations);
        if (way === 'done') await device.queue.onSubmittedWorkDone();
        else {
          if (way === 'sleep') await sleep(dispatchMs);
          await read.mapAsync(GPUMapMode.READ);
          read.unmap();
        }
      }
      samples.push({
        way,
        wallMs: performance.now() - t0,
        mainCpuMs: mainThreadCpuMs ? mainThreadCpuMs() - main0 : null,
        processCpuMs: processCpuMs() - cpu0,
        pollTicks: poll.ticks,
        pollMs: poll.ms,
      });
      poll.stop();
      await device.queue.onSubmittedWorkDone();
    }
    return { iterations, dispatchMs, samples };
  } finally {
    params.destroy();
    out.destroy();
    read.destroy();
  }
}

/** One line per way of waiting. */
export function waitProbeLines(p: WaitProbe): string[] {
  return [
    `waiting for one ${p.dispatchMs.toFixed(1)} ms dispatch (${p.iterations} loop steps):`,
    ...p.samples.map(
      (s) =>
        `- ${s.way}: wall ${s.wallMs.toFixed(1)} ms, main thread CPU ${s.mainCpuMs?.toFixed(1) ?? '?'} ms, process CPU ${s.processCpuMs.toFixed(1)} ms, Dawn polls ${s.pollTicks} (${s.pollMs.toFixed(1)} ms)`,
    ),
  ];
}
