// Where the CPU goes per decoded token, seen from outside the engine (like
// src/gpu/counters.ts): the wall time of a decode window split into the
// main thread's synchronous WebGPU calls, timed by wrapping them:
// - encodeMs: createCommandEncoder to finish() (the replay of the recorded
//   dispatch list: the JS loop and Dawn's encoding of each call);
// - writeBufferMs, submitMs: queue.writeBuffer and queue.submit;
// - readbackMs: mapAsync, getMappedRange and unmap (their synchronous part);
// - mapPendingMs: the wall time with a read-back map pending (while Dawn
//   polls; mapped at submit, that is nearly all of it);
// - pollMs: Dawn's event polling while a promise waits (dawn-poll.ts, Node);
// and, from the clocks: the main thread's CPU time, what is left of it
// (otherMainMs: the loop's and the consumer's JS, the event loop, GC; the
// calls are timed by the wall clock, so a thread preempted inside them can
// leave this below zero: a sign of a loaded machine, not of work), the
// wall time the main thread was off the CPU (idleMs: asleep, or preempted),
// and the whole process's CPU (other threads: the driver, or on SwiftShader
// the emulated GPU). Nothing here imports node: (it runs in a page too,
// with the clocks it has). For benchmarks only.

export interface CpuClocks {
  /** CPU ms of the whole process; null where the runtime cannot tell (a page). */
  process: (() => number) | null;
  /** CPU ms of the main (JS) thread; null where the runtime cannot tell. */
  mainThread: (() => number) | null;
  /** Dawn's polling callbacks so far (dawn-poll.ts); null where there are none to watch. */
  polling: { readonly ticks: number; readonly ms: number; reset(): void } | null;
}

/** Per decoded token, averaged over the window; CPU clocks' figures are null where the runtime cannot tell. */
export interface TokenCpu {
  wallMs: number;
  processCpuMs: number | null;
  mainCpuMs: number | null;
  encodeMs: number;
  writeBufferMs: number;
  submitMs: number;
  readbackMs: number;
  /** Wall time with at least one mapAsync pending. */
  mapPendingMs: number;
  pollMs: number;
  pollTicks: number;
  /** mainCpuMs less the timed calls and polling above. */
  otherMainMs: number | null;
  /** wallMs less mainCpuMs. */
  idleMs: number | null;
}

/** A window with no token in it. */
export function zeroTokenCpu(): TokenCpu {
  return { wallMs: 0, processCpuMs: null, mainCpuMs: null, encodeMs: 0, writeBufferMs: 0, submitMs: 0, readbackMs: 0, mapPendingMs: 0, pollMs: 0, pollTicks: 0, otherMainMs: null, idleMs: null };
}

export interface TokenCpuWatch {
  /** Starts the window at `at` (performance.now(), default now). */
  reset(at?: number): void;
  /** The window so far, up to `at` (default now), per token over `tokens`. */
  read(tokens: number, at?: number): TokenCpu;
  /** Puts every wrapped method back (after any wrapper installed later was removed). */
  stop(): void;
}

type AnyFn = (...args: unknown[]) => unknown;

export function watchTokenCpu(device: GPUDevice, clocks: CpuClocks): TokenCpuWatch {
  const t = { encode: 0, write: 0, submit: 0, readback: 0 };
  let wall0 = 0;
  let main0 = 0;
  let process0 = 0;
  const restores: (() => void)[] = [];
  /** Adds the time inside target[name] to t[key]. */
  const time = (target: object, name: string, key: keyof typeof t) => {
    const record = target as Record<string, unknown>;
    const original = record[name] as AnyFn;
    const own = Object.prototype.hasOwnProperty.call(target, name);
    record[name] = function (this: unknown, ...args: unknown[]) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        t[key] += performance.now() - t0;
      }
    };
    restores.push(() => {
      if (own) record[name] = original;
      else delete record[name];
    });
  };
  const createEncoder = device.createCommandEncoder;
  const ownCreate = Object.prototype.hasOwnProperty.call(device, 'createCommandEncoder');
  device.createCommandEncoder = function (this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
    const t0 = performance.now();
    const encoder = createEncoder.call(this, d);
    const finish = encoder.finish.bind(encoder);
    encoder.finish = (fd?: GPUCommandBufferDescriptor) => {
      const buffer = finish(fd);
      t.encode += performance.now() - t0;
      return buffer;
    };
    return encoder;
  };
  restores.push(() => {
    if (ownCreate) device.createCommandEncoder = createEncoder;
    else delete (device as unknown as Record<string, unknown>).createCommandEncoder;
  });
  time(device.queue, 'writeBuffer', 'write');
  time(device.queue, 'submit', 'submit');
  // Buffers share one prototype: time its map methods.
  const probe = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'token cpu probe' });
  const bufferProto = Object.getPrototypeOf(probe) as object;
  probe.destroy();
  for (const name of ['mapAsync', 'getMappedRange', 'unmap']) time(bufferProto, name, 'readback');
  // The time with a map pending: from the first map asked for to the last one settled.
  let pending = 0;
  let pendingSince = 0;
  let pendingMs = 0;
  const settled = () => {
    if (--pending === 0) pendingMs += performance.now() - Math.max(pendingSince, wall0);
  };
  const proto = bufferProto as { mapAsync: (...a: unknown[]) => Promise<void> };
  const timedMap = proto.mapAsync;
  proto.mapAsync = function (this: GPUBuffer, ...args: unknown[]) {
    const p = timedMap.apply(this, args);
    if (pending++ === 0) pendingSince = performance.now();
    p.then(settled, settled);
    return p;
  };
  restores.push(() => {
    proto.mapAsync = timedMap;
  });

  const reset = (at = performance.now()) => {
    t.encode = t.write = t.submit = t.readback = 0;
    pendingMs = 0;
    clocks.polling?.reset();
    wall0 = at;
    main0 = clocks.mainThread?.() ?? 0;
    process0 = clocks.process?.() ?? 0;
  };
  reset();
  return {
    reset,
    read: (tokens, at = performance.now()) => {
      const k = Math.max(1, tokens);
      const wallMs = (at - wall0) / k;
      const mainCpuMs = clocks.mainThread ? (clocks.mainThread() - main0) / k : null;
      const pollMs = (clocks.polling?.ms ?? 0) / k;
      const calls = (t.encode + t.write + t.submit + t.readback) / k;
      return {
        wallMs,
        processCpuMs: clocks.process ? (clocks.process() - process0) / k : null,
        mainCpuMs,
        encodeMs: t.encode / k,
        writeBufferMs: t.write / k,
        submitMs: t.submit / k,
        readbackMs: t.readback / k,
        mapPendingMs: (pendingMs + (pending > 0 ? at - Math.max(pendingSince, wall0) : 0)) / k,
        pollMs,
        pollTicks: (clocks.polling?.ticks ?? 0) / k,
        otherMainMs: mainCpuMs === null ? null : mainCpuMs - calls - pollMs,
        idleMs: mainCpuMs === null ? null : wallMs - mainCpuMs,
      };
    },
    stop: () => {
      for (const restore of restores.splice(0).reverse()) restore();
    },
  };
}

const ms = (v: number | null, digits = 3) => (v === null ? '-' : v.toFixed(digits));

/**
 * A markdown table of per-token breakdowns, one row per model, with the GPU
 * time of its decode pass where timestamps tell: the wall time is the larger
 * of what the main thread does (encode + writeBuffer + submit + read-back +
 * other) and the GPU's time, when the loop keeps the GPU fed.
 */
export function tokenCpuTable(rows: { model: string; cpu: TokenCpu; gpuMs?: number }[]): string {
  return [
    '| model | wall ms / token | GPU ms / decode pass | process CPU ms | main thread CPU ms | encode ms | writeBuffer ms | submit ms | read-back calls ms | map pending ms | Dawn polling ms (polls) | other main-thread ms | main thread off CPU ms |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(
      ({ model, cpu: c, gpuMs }) =>
        `| ${model} | ${ms(c.wallMs)} | ${gpuMs === undefined ? '-' : ms(gpuMs)} | ${ms(c.processCpuMs)} | ${ms(c.mainCpuMs)} | ${ms(c.encodeMs)} | ${ms(c.writeBufferMs)} | ${ms(c.submitMs)} | ${ms(c.readbackMs)} | ${ms(c.mapPendingMs)} | ${ms(c.pollMs)} (${c.pollTicks.toFixed(0)}) | ${ms(c.otherMainMs)} | ${ms(c.idleMs)} |`,
    ),
  ].join('\n');
}
