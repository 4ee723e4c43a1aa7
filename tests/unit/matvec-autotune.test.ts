// The matvec search's own logic (src/gpu/matvec-autotune.ts) over a fake
// device: which candidate it keeps, what it reports for refused and
// unfinished ones, how many passes it times, and that it frees every
// recording. tests/gpu/matvec-autotune.test.ts runs it on a GPU.

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { AUTOTUNE_MARGIN, autotuneMatvec, pickTuning, timePasses, type AutotuneTarget, type CandidateRun } from '../../src/gpu/matvec-autotune';
import type { MatvecTuning, MatvecTuningCase } from '../../src/gpu/matvec-tuning';

const labelOf = (m: Partial<MatvecTuning>) => JSON.stringify(m);

/** A device whose pass takes `msPerPass[label]` of a fake clock per pass (plus `overheadMs` per submission). */
function fakeTarget(msPerPass: Record<string, number>, overheadMs = 0, refuse: Record<string, string> = {}, signatures: Record<string, string> = {}) {
  let clock = 0;
  const log = { recorded: [] as string[], freed: [] as string[], submissions: [] as { label: string; passes: number }[] };
  const target: AutotuneTarget = {
    now: () => clock,
    record: async (matvec) => {
      const label = labelOf(matvec);
      if (refuse[label]) throw new ClawError('clw-bad-request', refuse[label]);
      log.recorded.push(label);
      const run: CandidateRun = {
        signature: signatures[label] ?? label,
        run: async (passes) => {
          log.submissions.push({ label, passes });
          clock += overheadMs + passes * msPerPass[label];
        },
        free: () => log.freed.push(label),
      };
      return run;
    },
  };
  return { target, log };
}

const cases = (...tunings: Partial<MatvecTuning>[]): MatvecTuningCase[] => tunings.map((matvec, i) => ({ label: i === 0 ? 'default' : `c${i}`, matvec }));

describe('matvec autotune', () => {
  it('keeps the default unless a candidate beats it by more than the margin', () => {
    const t = (ms: (number | null)[]) => ms.map((m, i) => ({ label: i === 0 ? 'default' : `c${i}`, ms: m }));
    expect(pickTuning(t([10, 9.6, 9.7]))).toBe('default'); // 4% faster: noise
    expect(pickTuning(t([10, 9.6, 8]))).toBe('c2');
    expect(pickTuning(t([10, 12, null]))).toBe('default');
    expect(pickTuning(t([10, 10 * (1 - AUTOTUNE_MARGIN) - 0.01]))).toBe('c1');
    expect(pickTuning(t([null, 5]))).toBe('default'); // no baseline: nothing to compare with
  });

  it('times every candidate on the device and runs the fastest', async () => {
    const c = cases({}, { maxLanes: 64 }, { xTile: 2048 });
    const { target, log } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1.5, [labelOf({ xTile: 2048 })]: 1 }, 0.5);
    const report = await autotuneMatvec(target, c);
    expect(report.chosen).toBe('c2');
    // The submission overhead is spread over the passes of a round: per-pass figures come out near the pass time.
    expect(report.candidates.map((x) => x.label)).toEqual(['default', 'c1', 'c2']);
    for (const [i, ms] of [2, 1.5, 1].entries()) {
      expect(report.candidates[i].ms!).toBeGreaterThanOrEqual(ms);
      expect(report.candidates[i].ms!).toBeLessThan(ms * 1.1);
    }
    expect(log.freed).toEqual(log.recorded);
    expect(report.tookMs).toBeGreaterThan(0);
  });

  it('reports a tuning the device refuses and goes on; a refused baseline fails the load', async () => {
    const c = cases({}, { workgroup: 4096 }, { maxLanes: 64 });
    const { target } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1 }, 0, { [labelOf({ workgroup: 4096 })]: 'matvec tuning workgroup 4096: too big' });
    const report = await autotuneMatvec(target, c);
    expect(report.candidates[1]).toEqual({ label: 'c1', ms: null, skipped: 'matvec tuning workgroup 4096: too big' });
    expect(report.chosen).toBe('c2');
    const refused = fakeTarget({}, 0, { [labelOf({})]: 'no' });
    await expect(autotuneMatvec(refused.target, c)).rejects.toMatchObject({ code: 'clw-bad-request' });
  });

  it('times a candidate that records the same kernels as an earlier one only once', async () => {
    const c = cases({}, { maxLanes: 64 }, { maxLanes: 128 });
    const same = { [labelOf({ maxLanes: 128 })]: labelOf({ maxLanes: 64 }) };
    const { target, log } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1, [labelOf({ maxLanes: 128 })]: 1 }, 0, {}, same);
    const report = await autotuneMatvec(target, c);
    expect(report.candidates[2]).toEqual({ label: 'c2', ms: null, skipped: 'the same kernels and grids as c1' });
    expect(report.chosen).toBe('c1');
    expect(log.submissions.filter((s) => s.label === labelOf({ maxLanes: 128 }))).toEqual([]);
    expect(log.freed).toEqual(log.recorded);
  });

  it('times a winner against the default again, alternately, and keeps it when it still wins', async () => {
    const c = cases({}, { maxLanes: 64 }, { maxLanes: 128 });
    const { target, log } = fakeTarget({ [labelOf({})]: 1, [labelOf({ maxLanes: 64 })]: 0.9, [labelOf({ maxLanes: 128 })]: 1.2 });
    const report = await autotuneMatvec(target, c);
    expect(report.confirm!.label).toBe('c1');
    expect(report.confirm!.ms).toBeCloseTo(0.9, 9);
    expect(report.confirm!.defaultMs).toBeCloseTo(1, 9);
    expect(report.chosen).toBe('c1');
    // Three first-round recordings, then the default and c1 recorded afresh for each of 3 alternating rounds.
    expect(log.recorded).toEqual([labelOf({}), labelOf({ maxLanes: 64 }), labelOf({ maxLanes: 128 }), ...Array(3).fill([labelOf({}), labelOf({ maxLanes: 64 })]).flat()]);
    expect(log.freed).toEqual(log.recorded);
  });

  it('keeps the default when the alternating rounds show the first round was noise', async () => {
    const c = cases({}, { maxLanes: 64 });
    let clock = 0;
    let defaultRuns = 0;
    const target: AutotuneTarget = {
      now: () => clock,
      record: async (matvec) => {
        const isDefault = labelOf(matvec) === labelOf({});
        return {
          signature: labelOf(matvec),
          // The default's first timing (its first 5 submissions) ran at half speed; afterwards both take 1 ms a pass.
          run: async (passes) => void (clock += passes * (isDefault && defaultRuns++ < 5 ? 2 : 1)),
          free: () => undefined,
        };
      },
    };
    const report = await autotuneMatvec(target, c);
    expect(report.candidates.map((x) => x.ms)).toEqual([2, 1]);
    expect(report.confirm).toEqual({ label: 'c1', ms: 1, defaultMs: 1 });
    expect(report.chosen).toBe('default');
  });

  it('stops timing when the budget is spent, and says so', async () => {
    const c = cases({}, { maxLanes: 64 }, { maxLanes: 128 });
    const { target, log } = fakeTarget({ [labelOf({})]: 50, [labelOf({ maxLanes: 64 })]: 50, [labelOf({ maxLanes: 128 })]: 1 });
    const report = await autotuneMatvec(target, c, 200);
    // Each candidate takes 5 passes of 50 ms. The budget counts from the baseline's end (250 ms): the second
    // starts at 0 ms of it, the third at 250 ms, past the 200 ms budget.
    expect(report.candidates.map((x) => x.skipped ?? 'timed')).toEqual(['timed', 'timed', "the search's 200 ms budget ran out"]);
    expect(report.chosen).toBe('default');
    expect(log.recorded).toHaveLength(2);
  });

  it('fills a round with enough passes to outweigh a submission', async () => {
    const { target, log } = fakeTarget({ [labelOf({})]: 0.5 });
    const run = await target.record({});
    const ms = await timePasses(run, target.now);
    expect(ms).toBe(0.5);
    // A warm-up pass, one to size the rounds, then rounds of 20 ms / 0.5 ms = 40 passes, capped at 32.
    expect(log.submissions.map((s) => s.passes)).toEqual([1, 1, 32, 32, 32]);
  });
});
