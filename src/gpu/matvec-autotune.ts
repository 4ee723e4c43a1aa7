// Choosing the decode pass's matvec tuning on the device itself, at load
// (GpuOpsOptions.matvec 'auto'). No single layout of matvec_fused is best
// on every GPU (lanes per row, rows per block, workgroup size, input tiles:
// docs/gpu-kernels.md, "The matvec tuning"), and WebGPU says too little
// about an adapter to pick from a table. So each candidate records the
// whole one-token pass over the model's own weights, and the matvecs of
// each projection site (attn_q, ffn_down, output, ...: rows and inputs of
// their own) are timed on their own; each site takes its fastest, the
// first candidate (the default) unless another beats it by a margin, and
// the pass so chosen must then beat the default's as a whole. What the
// timing asks of the pass (DecodePass.prepare supplies it): record a
// candidate, submit it (or one site's dispatches) `passes` times in one
// submission and resolve when the GPU is done, free it.

import { ClawError } from '../errors';
import { parseRemembered, rememberChoice, searchKey, type MatvecChoiceStore, type RememberedChoice } from './matvec-memory';
import { parseMatvecTunings, type MatvecChoice, type MatvecTuningCase } from './matvec-tuning';

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

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
/** At most this many passes a round: a site of one small dispatch (the output) takes microseconds on a GPU, a submission tens. */
const MAX_PASSES = 256;
const ROUNDS = 3;
/**
 * Rounds of the final comparison, the default and the fastest one after the
 * other: a GPU whose clocks were still rising while the default (timed
 * first) ran would otherwise favour whatever came later.
 */
const CONFIRM_ROUNDS = 3;

/** What the search found for one candidate: GPU ms of its matvecs per pass, or why it has none. */
export interface MatvecCandidateTiming {
  label: string;
  /** Milliseconds per pass of its matvecs (the sum over the sites); null when not timed. */
  ms: number | null;
  /** Milliseconds per pass of each projection site's matvecs (the fastest round of each). */
  sites?: Record<string, number>;
  /** Why it was not timed: the device refused the tuning, it records what an earlier one did, or the budget ran out. */
  skipped?: string;
  /** It failed for another reason than the device refusing the tuning (the device lost, out of memory): the search is not kept. */
  failed?: true;
}

/** The outcome of a load's search (ModelInfo.matvecTuning). */
export interface MatvecAutotuneReport {
  /**
   * What the pass now runs: a candidate's label (every site chose it), or
   * `site: label` pairs ('; ' between them) for the sites that chose other
   * than the first candidate.
   */
  chosen: string;
  /** The label each projection site chose (before the check against the default's whole pass). */
  bySite: Record<string, string>;
  candidates: MatvecCandidateTiming[];
  /**
   * Where the sites chose other than the first candidate: that pass and the
   * default's timed again as wholes, alternately (ms per pass, the fastest
   * of CONFIRM_ROUNDS each); the choice is kept only if it still wins by
   * the margin.
   */
  confirm?: { label: string; ms: number; defaultMs: number };
  /** Wall time of the search, compiling included (of the lookup, when the choice was remembered). */
  tookMs: number;
  /**
   * With a store (GpuOpsOptions.matvecStore): the key the choice is kept
   * under (src/gpu/matvec-memory.ts); when it was read back instead of
   * searched for, when the search ran and what it took; when the choice
   * this search replaced was measured (GpuOpsOptions.matvecRemeasure); why
   * nothing was read or kept, where so: the store failed (the load goes on
   * without it), or a candidate failed other than by a refusal (a device
   * lost or out of memory mid-search: its choice is not kept).
   */
  memory?: { key: string; measuredAt?: string; searchMs?: number; replaced?: string; error?: string };
}

/** One candidate, as DecodePass.prepare's search runs it. */
export interface CandidateRun {
  /** The projection sites of its matvec dispatches (decode-matvec.ts matvecSite). */
  readonly sites: readonly string[];
  /** Submits the recorded pass (or only the matvec dispatches of `site`) `passes` times in one submission; resolves when the GPU has done it. */
  run(passes: number, site?: string): Promise<void>;
  free(): void;
}

export interface AutotuneTarget {
  /** Records and compiles the pass under `matvec` (throws clw-bad-request for a tuning the device cannot take). */
  record(matvec: MatvecChoice): Promise<CandidateRun>;
  /**
   * The pass under `matvec`, recorded without compiling or running: equal
   * for two candidates that record the same kernels with the same grids
   * (the tunings differ only where this model's shapes or this device's
   * kernel family make no difference), which is timed once. Throws as
   * record does.
   */
  signature(matvec: MatvecChoice): string;
  now(): number;
}

/** Milliseconds per pass (of `site`'s dispatches alone, when given): one warm-up pass (compiling, first touch), then the fastest of ROUNDS submissions of enough passes each. */
export async function timePasses(run: CandidateRun, now: () => number, site?: string): Promise<number> {
  await run.run(1, site);
  let t = now();
  await run.run(1, site);
  const single = Math.max(now() - t, 1e-3);
  const passes = Math.max(1, Math.min(MAX_PASSES, Math.ceil(ROUND_MS / single)));
  let best = single;
  for (let i = 0; i < ROUNDS; i++) {
    t = now();
    await run.run(passes, site);
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
 * needs no more memory than the pass itself) within `budgetMs`, each
 * projection site's matvecs on their own, and picks per site (pickTuning).
 * A candidate the device refuses, or one that fails, is reported and
 * skipped, as is one that records the same kernels as an earlier one; the
 * first (the default) is always timed. A choice other than the first is
 * timed against it once more, as whole passes, alternately, before it
 * replaces it. Returns the report and the tuning to record the pass with.
 * `signatures`: the candidates' signatures where the caller has them
 * (chooseMatvec's key needs them all first).
 */
export async function autotuneMatvec(
  target: AutotuneTarget,
  candidates: readonly MatvecTuningCase[],
  budgetMs = AUTOTUNE_BUDGET_MS,
  signatures?: readonly Signature[],
): Promise<{ report: MatvecAutotuneReport; choice: MatvecChoice }> {
  const start = target.now();
  const timings: MatvecCandidateTiming[] = [];
  /** Signatures timed so far, and the candidate that had each. */
  const seen = new Map<string, string>();
  let sites: readonly string[] = [];
  // The budget counts from the baseline's end: recording and compiling the pass is the load's own work, searching is the extra.
  let baselineEnd = start;
  for (const [i, c] of candidates.entries()) {
    if (i > 0 && target.now() - baselineEnd > budgetMs) {
      timings.push({ label: c.label, ms: null, skipped: `the search's ${budgetMs} ms budget ran out` });
      continue;
    }
    let run: CandidateRun | null = null;
    try {
      const signature = signatures ? known(signatures[i]) : target.signature(c.matvec);
      const same = seen.get(signature);
      if (same) timings.push({ label: c.label, ms: null, skipped: `the same kernels and grids as ${same}` });
      else {
        run = await target.record(c.matvec);
        if (i === 0) sites = run.sites;
        const bySite: Record<string, number> = {};
        for (const site of sites) bySite[site] = await timePasses(run, target.now, site);
        timings.push({ label: c.label, ms: Object.values(bySite).reduce((a, b) => a + b, 0), sites: bySite });
        seen.set(signature, c.label);
      }
    } catch (e) {
      if (i === 0) throw e;
      const refused = e instanceof ClawError && e.code === 'clw-bad-request';
      timings.push({ label: c.label, ms: null, skipped: message(e), ...(refused ? {} : { failed: true as const }) });
    } finally {
      run?.free();
    }
    if (i === 0) baselineEnd = target.now();
  }
  const base = candidates[0];
  const bySite = Object.fromEntries(sites.map((site) => [site, pickTuning(timings.map((t) => ({ label: t.label, ms: t.sites?.[site] ?? null })))]));
  const done = (chosen: string, choice: MatvecChoice, confirm?: MatvecAutotuneReport['confirm']) => ({ report: { chosen, bySite, candidates: timings, ...(confirm ? { confirm } : {}), tookMs: target.now() - start }, choice });
  const picked = siteChoice(candidates, bySite);
  if (!picked) return done(base.label, base.matvec);
  const confirm = { label: picked.label, ...(await timeAlternately(target, base.matvec, picked.choice)) };
  return confirm.ms < confirm.defaultMs * (1 - AUTOTUNE_MARGIN) ? done(picked.label, picked.choice, confirm) : done(base.label, base.matvec, confirm);
}

/**
 * The pass the sites' picks make, or null where every site kept the first
 * candidate: one candidate's tuning and label where all sites picked it,
 * else a tuning per site, labelled by the sites that left the first.
 */
function siteChoice(candidates: readonly MatvecTuningCase[], bySite: Readonly<Record<string, string>>): { label: string; choice: MatvecChoice } | null {
  const base = candidates[0].label;
  const labels = new Set(Object.values(bySite));
  if (labels.size === 0 || (labels.size === 1 && labels.has(base))) return null;
  const matvecOf = (label: string) => candidates.find((c) => c.label === label)!.matvec;
  if (labels.size === 1) {
    const [only] = labels;
    return { label: only, choice: matvecOf(only) };
  }
  return {
    label: Object.entries(bySite).filter(([, l]) => l !== base).map(([site, l]) => `${site}: ${l}`).join('; '),
    choice: { bySite: Object.fromEntries(Object.entries(bySite).map(([site, label]) => [site, matvecOf(label)])) },
  };
}

/** The default and a challenger timed as whole passes CONFIRM_ROUNDS times each, one after the other (each recorded afresh: one recording alive at a time). */
async function timeAlternately(target: AutotuneTarget, base: MatvecChoice, challenger: MatvecChoice): Promise<{ ms: number; defaultMs: number }> {
  const best = [Infinity, Infinity];
  for (let r = 0; r < CONFIRM_ROUNDS; r++) {
    for (const [k, c] of [base, challenger].entries()) {
      const run = await target.record(c);
      try {
        best[k] = Math.min(best[k], await timePasses(run, target.now));
      } finally {
        run.free();
      }
    }
  }
  return { ms: best[1], defaultMs: best[0] };
}

/** A candidate's signature, or what the device said when it refused the candidate. */
export type Signature = { signature: string } | { refused: unknown };

function signatureOf(target: AutotuneTarget, matvec: MatvecChoice): Signature {
  try {
    return { signature: target.signature(matvec) };
  } catch (e) {
    return { refused: e };
  }
}

/** The signature, or the refusal thrown again. */
function known(s: Signature): string {
  if ('refused' in s) throw s.refused;
  return s.signature;
}

/** Where a search's choice is kept, and what besides the candidates' recordings its key is made of (SearchIdentity). */
export interface MatvecMemory {
  store: MatvecChoiceStore;
  context: string;
  model: string;
  /** Search even where a choice is stored, and replace it. */
  remeasure?: boolean;
}

/**
 * autotuneMatvec, once per key: with `memory`, the candidates' passes are
 * recorded (not compiled) for the key, and a choice stored under it is
 * used without timing anything, provided the device still takes it and
 * `memory.remeasure` is not set; otherwise the search runs (on those
 * signatures) and its choice is stored, unless a candidate failed other
 * than by the device refusing it (the device lost, out of memory: what the
 * search chose then says nothing about the GPU). A store that fails is
 * reported (report.memory.error), never fatal.
 */
export async function chooseMatvec(target: AutotuneTarget, candidates: readonly MatvecTuningCase[], memory: MatvecMemory | null, budgetMs = AUTOTUNE_BUDGET_MS): Promise<{ report: MatvecAutotuneReport; choice: MatvecChoice }> {
  if (!memory) return autotuneMatvec(target, candidates, budgetMs);
  const start = target.now();
  const signatures = candidates.map((c) => signatureOf(target, c.matvec));
  const keyPart = (s: Signature) => ('refused' in s ? `refused: ${message(s.refused)}` : s.signature);
  const key = searchKey({ context: memory.context, model: memory.model, candidates: candidates.map((c, i) => ({ label: c.label, signature: keyPart(signatures[i]) })) });
  let error: string | undefined;
  let stored: RememberedChoice | null = null;
  try {
    stored = parseRemembered(await memory.store.get(key));
  } catch (e) {
    error = `reading the store failed: ${message(e)}`;
  }
  if (stored && !memory.remeasure && !('refused' in signatureOf(target, stored.choice))) {
    const report = { ...stored.report, tookMs: target.now() - start, memory: { key, measuredAt: stored.measuredAt, searchMs: stored.report.tookMs } };
    return { report, choice: stored.choice };
  }
  const { report, choice } = await autotuneMatvec(target, candidates, budgetMs, signatures);
  const failed = report.candidates.find((c) => c.failed);
  if (failed) error = `not kept: ${failed.label} failed (${failed.skipped})`;
  else {
    try {
      await memory.store.set(key, rememberChoice(choice, report));
    } catch (e) {
      error ??= `writing the store failed: ${message(e)}`;
    }
  }
  return { report: { ...report, memory: { key, ...(stored && memory.remeasure ? { replaced: stored.measuredAt } : {}), ...(error ? { error } : {}) } }, choice };
}
