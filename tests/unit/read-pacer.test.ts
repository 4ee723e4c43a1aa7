// The read-back pacer of the pipelined decode loop (src/gpu/read-pacer.ts),
// against a simulated GPU on fake timers: a queue that runs each submission
// for a fixed time after the previous one, and maps that settle when their
// submission is done. Paced, the map of a step is asked for only shortly
// before the GPU finishes it (no promise pending, so no polling, for most
// of the pass), and the read settles no later than it would unpaced; not
// paced, or when the CPU is the slower side, every map is asked for at once.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { awaitingPolls, ReadPacer } from '../../src/gpu/read-pacer';

const GPU_MS = 10;

interface Read {
  /** When the map was asked for, when the GPU finished the submission, when the read settled. */
  asked: number;
  finished: number;
  settled: number;
}

/**
 * The decode loop's shape: `depth` submissions in flight; each read is
 * followed by `cpuMs` of CPU work and the next submission.
 */
async function decodeLoop(pacer: ReadPacer, steps: number, depth: number, cpuMs: number): Promise<Read[]> {
  const submitted: number[] = [];
  const finished: number[] = [];
  const submit = () => {
    const now = performance.now();
    submitted.push(now);
    finished.push(Math.max(now, finished.at(-1) ?? 0) + GPU_MS);
  };
  const reads: Read[] = [];
  for (let i = 0; i < depth; i++) submit();
  for (let k = 0; k < steps; k++) {
    let asked = -1;
    const buffer = {
      mapAsync: () => {
        asked = performance.now();
        if (finished[k] <= asked) return Promise.resolve(undefined);
        return new Promise<undefined>((resolve) => setTimeout(resolve, finished[k] - asked));
      },
    };
    await pacer.map(buffer, 0, 4, submitted[k]);
    reads.push({ asked, finished: finished[k], settled: performance.now() });
    if (cpuMs > 0) await new Promise((resolve) => setTimeout(resolve, cpuMs));
    submit();
  }
  return reads;
}

async function run(pacer: ReadPacer, steps: number, depth: number, cpuMs: number): Promise<Read[]> {
  const reads = decodeLoop(pacer, steps, depth, cpuMs);
  await vi.advanceTimersByTimeAsync(steps * (GPU_MS + cpuMs) * 4);
  return reads;
}

describe('read pacing', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks for a GPU-bound step only shortly before it is done, and reads it as soon as unpaced', async () => {
    const reads = await run(new ReadPacer(true), 24, 2, 2);
    for (const r of reads) expect(r.settled).toBe(r.finished);
    // Once the pass time is learnt (a few reads), the map is pending for at most a few ms of each 10 ms pass.
    const steady = reads.slice(4);
    for (const r of steady) expect(r.finished - r.asked).toBeLessThanOrEqual(3);
    const unpaced = await run(new ReadPacer(false), 24, 2, 2);
    expect(unpaced.slice(4).every((r) => r.finished - r.asked >= GPU_MS - 2 - 1e-9)).toBe(true);
  });

  it('keeps a single step in flight (a grammar) fed: the read settles when the GPU finishes', async () => {
    const reads = await run(new ReadPacer(true), 16, 1, 1);
    for (const r of reads) expect(r.settled).toBe(r.finished);
    for (const r of reads.slice(4)) expect(r.finished - r.asked).toBeLessThanOrEqual(3);
  });

  it('maps at once when the CPU is the slower side (the GPU is done before the read)', async () => {
    const reads = await run(new ReadPacer(true), 16, 2, 25);
    for (const r of reads.slice(2)) {
      expect(r.asked).toBeGreaterThanOrEqual(r.finished);
      expect(r.settled).toBe(r.asked);
    }
  });

  it('is on in Node (Dawn polls while a promise waits)', () => {
    expect(awaitingPolls()).toBe(true);
  });
});
