// When to ask for a submission's read-back. In Node, Dawn (the `webgpu`
// package) settles its promises by polling: while any mapAsync,
// onSubmittedWorkDone or popErrorScope is pending, a native setImmediate
// callback calls wgpuInstanceProcessEvents and schedules itself again, so
// the event loop never sleeps and the main thread spins for the whole wait
// (bench/lib/wait-probe.ts measures it: about as much main-thread CPU as
// wall time, tens of thousands of polls a second). The pacer keeps no map
// pending while the GPU is surely still busy: it learns the GPU's time per
// submission from the read-backs themselves and sleeps (setTimeout, no
// promise of Dawn's pending) until the submission is due, then maps. In a
// browser the GPU process settles maps without the page polling: there it
// maps at once.

/** Whether awaiting a GPU promise polls on this thread: Node (Dawn), not a browser, Deno or a runtime with its own navigator.gpu. */
export function awaitingPolls(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; navigator?: { gpu?: unknown } };
  return typeof g.process?.versions?.node === 'string' && g.Deno === undefined && g.navigator?.gpu === undefined;
}

/** A map that settled later than this after it was asked for found the GPU still busy: its settling time is when the GPU finished. */
const WAITED_MS = 0.3;
/** Wake this long before the submission is due (timers fire late by up to about a millisecond). */
const EARLY_MS = 1;
/** Sleeps shorter than this are not worth a timer. */
const MIN_SLEEP_MS = 1;
/** Weight of a new GPU-time sample; how much an overslept read shrinks the estimate. */
const LEARN = 0.5;
const SHRINK = 0.85;

const MAP_READ = 0x1; // GPUMapMode.READ

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class ReadPacer {
  /** Estimated GPU ms per submission; 0 until a map has waited for one. */
  private gpuMs = 0;
  /** When the previous read-back settled (the GPU had finished that submission by then). */
  private lastSettled = -Infinity;

  constructor(readonly enabled: boolean) {}

  /** Forget the timing (a new request: the GPU may have idled). */
  reset(): void {
    this.lastSettled = -Infinity;
  }

  /**
   * Maps `buffer` for reading, after sleeping until the submission that
   * writes it (made at `submittedAt`, performance.now()) is due; without
   * pacing, or with nothing learnt yet, maps at once.
   */
  async map(buffer: Pick<GPUBuffer, 'mapAsync'>, offset: number, size: number, submittedAt: number): Promise<void> {
    const start = Math.max(submittedAt, this.lastSettled);
    if (this.enabled && this.gpuMs > 0) {
      const wait = start + this.gpuMs - EARLY_MS - performance.now();
      if (wait >= MIN_SLEEP_MS) await sleep(wait);
    }
    const asked = performance.now();
    await buffer.mapAsync(MAP_READ, offset, size);
    const settled = performance.now();
    if (settled - asked > WAITED_MS) {
      // The GPU finished about now: a sample of its time per submission.
      const sample = settled - start;
      this.gpuMs = this.gpuMs > 0 ? this.gpuMs + LEARN * (sample - this.gpuMs) : sample;
    } else if (this.gpuMs > 0) {
      // Done before it was asked for: the sleep may have been too long.
      this.gpuMs = Math.min(this.gpuMs, asked - start) * SHRINK;
    }
    this.lastSettled = settled;
  }
}
