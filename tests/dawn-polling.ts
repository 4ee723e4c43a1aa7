// Test lane (Node + Dawn on SwiftShader) only: Dawn settles its promises by
// polling from a setImmediate callback that schedules itself again
// (src/gpu/read-pacer.ts, bench/lib/dawn-poll.ts), so every awaited read
// keeps the main thread busy, and on CI's 2 cores that thread takes CPU
// from SwiftShader's workers, which are the GPU. Here each wait polls at
// once for its first half millisecond (a short wait settles as soon as
// before), then once a millisecond (a timer), which leaves the cores to the
// emulated GPU. It reroutes only native callbacks (dawn.node's); JavaScript
// callers' setImmediate is untouched.

const SPIN_MS = 0.5;
const original = globalThis.setImmediate;
const isNative = (fn: unknown) => typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]');
/** When the current wait began, and whether a poll is running (a poll that schedules the next continues its wait). */
let waitStart = 0;
let polling = false;

function easedSetImmediate(this: unknown, callback: (...a: unknown[]) => void, ...args: unknown[]): NodeJS.Immediate {
  if (!isNative(callback)) return original(callback, ...args);
  if (!polling) waitStart = performance.now();
  const poll = () => {
    polling = true;
    try {
      callback(...args);
    } finally {
      polling = false;
    }
  };
  if (performance.now() - waitStart < SPIN_MS) return original(poll);
  setTimeout(poll, 1);
  return undefined as unknown as NodeJS.Immediate;
}

globalThis.setImmediate = Object.assign(easedSetImmediate, original) as typeof setImmediate;

export {};
