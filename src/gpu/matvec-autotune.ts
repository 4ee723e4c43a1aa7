// Choosing the decode pass's matvec tuning on the device itself, at load
// (GpuOpsOptions.matvec 'auto'). No single layout of matvec_fused is best
// on every GPU (lanes per row, rows per block, workgroup size, input tiles:
// docs/gpu-kernels.md, "The matvec tuning"), and WebGPU says too little
// about an adapter to pick from a table. So each candidate records the
// whole one-token pass over the model's own weights, runs it, and the
// fastest wins; the default stays unless another beats it by a margin.
// What the timing asks of the pass (DecodePass.tune supplies it): record a
// candidate, submit it `passes` times in one submission and resolve when
// the GPU is done, free it.

import { parseMatvecTunings, type MatvecTuning, type MatvecTuningCase } from './matvec-tuning';

/**
 * The tunings timed by default, in the order timed (a search cut short by
 * its budget has the first): the defaults, int8 activations, then the
 * layouts the H200 figures point at (more threads per row, wider loads,
 * the input in workgroup memory; docs/gpu-kernels.md). bench:gpu's and
 * bench/matvec.ts's `--tune candidates` sweep the same list, each tuning
 * on its own (BENCHMARKS.md, the prepared GPU sweep).
 */
export const MATVEC_AUTOTUNE_CANDIDATES: readonly MatvecTuningCase[] = parseMatvecTunings(
  'default;int8Dot=1;int8Dot=1,maxLanes=128;maxLanes=64;maxLanes=128;workgroup=256,maxLanes=256,blocksPerLane=1;wideLoads=1;xTile=2048;xTile=2048,wideLoads=1,maxLanes=128;rowsPerBlock=2,maxLanes=128',
);

/** A benchmark's --tune: parseMatvecTunings' syntax, where `candidates` stands for MATVEC_AUTOTUNE_CANDIDATES. */
export function expandTunings(spec: string): MatvecTuningCase[] {
  return spec.split(';').flatMap((part) => (part.trim() === 'candidates' ? [...MATVEC_AUTOTUNE_CANDIDATES] : parseMatvecTunings(part)));
}

/** A candidate replaces the default only when this much faster (timing noise must not move a load off the default). */
export const AUTOTUNE_MARGIN = 0.05;
/** Wall-clock bound of the search beyond the baseline (the first candidate, whose compiling the load needs anyway); candidates past it are reported as skipped. */
export const AUTOTUNE_BUDGET_MS = 4000;
/** Each timed submission holds enough passes to take about this long (one pass alone is short next to a submission's fixed cost). */
const ROUND_MS = 20;
const MAX_PASSES = 32;
const ROUNDS = 3;
/**
 * Rounds of the final comparison, the default and the fastest one after the
 * other: a GPU whose clocks were still rising while the default (timed
 * first) ran would otherwise favour whatever came later.
 */
const CONFIRM_ROUNDS = 3;

/** What the search found for one candidate: GPU ms per pass, or why it has none. */
export interface MatvecCandidateTiming {
  label: string;
  /** Milliseconds per one-token pass (the fastest round); null when not timed. */
  ms: number | null;
  /** Why it was not timed: the device refused the tuning, it records what an earlier one did, or the budget ran out. */
  skipped?: string;
}

/** The outcome of a load's search (ModelInfo.matvecTuning). */
export interface MatvecAutotuneReport {
  /** The label of the tuning the pass now runs. */
  chosen: string;
  candidates: MatvecCandidateTiming[];
  /**
   * Where a candidate beat the default in the first round: both timed again,
   * alternately (ms per pass, the fastest of CONFIRM_ROUNDS each), and the
   * candidate kept only if it still wins by the margin.
   */
  confirm?: { label: string; ms: number; defaultMs: number };
  /** Wall time of the search, compiling included. */
  tookMs: number;
}

/** One candidate, as DecodePass.prepare's search runs it. */
export interface CandidateRun {
  /** Equal for two candidates that record the same kernels with the same grids (the tunings differ only where this model's shapes or this device's kernel family make no difference): timed once. */
  readonly signature: string;
  /** Submits the recorded pass `passes` times in one submission; resolves when the GPU has done it. */
  run(passes: number): Promise<void>;
  free(): void;
}

export interface AutotuneTarget {
  /** Records and compiles the pass under `matvec` (throws clw-bad-request for a tuning the device cannot take). */
  record(matvec: Partial<MatvecTuning>): Promise<CandidateRun>;
  now(): number;
}

/** Milliseconds per pass: one warm-up pass (compiling, first touch), then the fastest of ROUNDS submissions of enough passes each. */
export async function timePasses(run: CandidateRun, now: () => number): Promise<number> {
  await run.run(1);
  let t = now();
  await run.run(1);
  const single = Math.max(now() - t, 1e-3);
  const passes = Math.max(1, Math.min(MAX_PASSES, Math.ceil(ROUND_MS / single)));
  let best = single;
  for (let i = 0; i < ROUNDS; i++) {
    t = now();
    await run.run(passes);
    best = Math.min(best, (now() - t) / passes);
  }
  return best;
}

/**
 * The label to run: the fastest timed candidate when it beats the first
 * (the default) by more than `margin`, else the first. The first must have
 * been timed; a search whose default failed keeps the default.
 */
export function pickTuning(timings: readonly MatvecCandidateTiming[], margin = AUTOTUNE_MARGIN): string {
  const first = timings[0];
  if (!first || first.ms === null) return first?.label ?? 'default';
  let best = first;
  for (const c of timings) if (c.ms !== null && c.ms < best.ms!) best = c;
  return best.ms! < first.ms * (1 - margin) ? best.label : first.label;
}

/**
 * Times every candidate in turn (one recorded at a time, so the search
 * needs no more memory than the pass itself) within `budgetMs`, and picks
 * one. A candidate the device refuses, or one that fails, is reported and
 * skipped, as is one that records the same kernels as an earlier one; the
 * first (the default) is always timed. A candidate that beats it is timed
 * against it once more, alternately, before it replaces it.
 */
export async function autotuneMatvec(target: AutotuneTarget, candidates: readonly MatvecTuningCase[], budgetMs = AUTOTUNE_BUDGET_MS): Promise<MatvecAutotuneReport> {
  const start = target.now();
  const timings: MatvecCandidateTiming[] = [];
  /** Signatures timed so far, and the candidate that had each. */
  const seen = new Map<string, string>();
  // The budget counts from the baseline's end: recording and compiling the pass is the load's own work, searching is the extra.
  let baselineEnd = start;
  for (const [i, c] of candidates.entries()) {
    if (i > 0 && target.now() - baselineEnd > budgetMs) {
      timings.push({ label: c.label, ms: null, skipped: `the search's ${budgetMs} ms budget ran out` });
      continue;
    }
    let run: CandidateRun | null = null;
    try {
      run = await target.record(c.matvec);
      const same = seen.get(run.signature);
      timings.push(same ? { label: c.label, ms: null, skipped: `the same kernels and grids as ${same}` } : { label: c.label, ms: await timePasses(run, target.now) });
      if (!same) seen.set(run.signature, c.label);
    } catch (e) {
      if (i === 0) throw e;
      timings.push({ label: c.label, ms: null, skipped: e instanceof Error ? e.message : String(e) });
    } finally {
      run?.free();
    }
    if (i === 0) baselineEnd = target.now();
  }
  const first = pickTuning(timings);
  if (first === candidates[0].label) return { chosen: first, candidates: timings, tookMs: target.now() - start };
  const confirm = await timeAlternately(target, candidates[0], candidates.find((c) => c.label === first)!);
  const chosen = confirm.ms < confirm.defaultMs * (1 - AUTOTUNE_MARGIN) ? first : candidates[0].label;
  return { chosen, candidates: timings, confirm, tookMs: target.now() - start };
}

/** The default and a challenger timed CONFIRM_ROUNDS times each, one after the other (each recorded afresh: one recording alive at a time). */
async function timeAlternately(target: AutotuneTarget, base: MatvecTuningCase, challenger: MatvecTuningCase): Promise<{ label: string; ms: number; defaultMs: number }> {
  const best = [Infinity, Infinity];
  for (let r = 0; r < CONFIRM_ROUNDS; r++) {
    for (const [k, c] of [base, challenger].entries()) {
      const run = await target.record(c.matvec);
      try {
        best[k] = Math.min(best[k], await timePasses(run, target.now));
      } finally {
        run.free();
      }
    }
  }
  return { label: challenger.label, ms: best[1], defaultMs: best[0] };
}
