// Dawn's event polling in Node, seen from outside: while any WebGPU promise
// is pending (mapAsync, onSubmittedWorkDone, popErrorScope, ...), the
// `webgpu` package (dawn.node's AsyncRunner) schedules a native callback
// with the global setImmediate that calls wgpuInstanceProcessEvents and
// schedules itself again, so the event loop never sleeps while a promise
// waits. It looks setImmediate up on the global at each call: wrapping the
// global counts those callbacks (native functions; JS callers' own
// immediates pass through uncounted) and the time spent in them. For
// benchmarks only.

export interface DawnPolling {
  /** Dawn's polling callbacks run since start (or reset), and the ms spent in them (ProcessEvents and what it resolves synchronously). */
  readonly ticks: number;
  readonly ms: number;
  reset(): void;
  /** Puts the global setImmediate back. */
  stop(): void;
}

type Immediate = typeof setImmediate;

const isNative = (fn: unknown) => typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]');

export function watchDawnPolling(): DawnPolling {
  const original = globalThis.setImmediate;
  let ticks = 0;
  let ms = 0;
  const wrapped = function (this: unknown, callback: (...a: unknown[]) => void, ...args: unknown[]) {
    if (!isNative(callback)) return original(callback, ...args);
    return original(() => {
      const t0 = performance.now();
      try {
        callback(...args);
      } finally {
        ms += performance.now() - t0;
        ticks++;
      }
    });
  };
  globalThis.setImmediate = Object.assign(wrapped, original) as Immediate;
  return {
    get ticks() {
      return ticks;
    },
    get ms() {
      return ms;
    },
    reset: () => {
      ticks = 0;
      ms = 0;
    },
    stop: () => {
      globalThis.setImmediate = original;
    },
  };
}
