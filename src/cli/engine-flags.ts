// The CLI flags that choose how the engine runs (not what it loads or generates):
// --matvec and --matvec-cache, and the line run and serve print about them.

import { ClawError } from '../errors';
import type { EngineOptions } from '../engine/engine';
import type { ModelInfo } from '../engine/types';
import { defaultMatvecCachePath, fileMatvecStore } from '../gpu/matvec-memory-node';

/**
 * --matvec auto: the decode pass's matvec tuning is timed on the GPU at
 * load (GpuOpsOptions.matvec), the choice kept in --matvec-cache (a JSON
 * file, default defaultMatvecCachePath(); `off` keeps nothing) so the next
 * load of the model on this GPU skips the search; remeasure: the same, but
 * searching even where a choice is kept (and replacing it); default: the
 * built-in tuning.
 */
export function engineOptionsFrom(flags: ReadonlyMap<string, string | number | boolean>): EngineOptions {
  const matvec = flags.get('matvec') as string | undefined;
  const cache = flags.get('matvec-cache') as string | undefined;
  if (matvec !== undefined && matvec !== 'auto' && matvec !== 'remeasure' && matvec !== 'default') throw new ClawError('clw-bad-request', `--matvec expects default, auto or remeasure, got "${matvec}"`);
  const search = matvec === 'auto' || matvec === 'remeasure';
  if (cache !== undefined && !search) throw new ClawError('clw-bad-request', '--matvec-cache keeps what --matvec auto chooses: give --matvec auto (or remeasure) too');
  if (cache === '') throw new ClawError('clw-bad-request', '--matvec-cache expects a file or off');
  if (!search) return {};
  return { kernels: { matvec: 'auto', matvecStore: cache === 'off' ? 'none' : fileMatvecStore(cache ?? defaultMatvecCachePath()), matvecRemeasure: matvec === 'remeasure' } };
}

/** The line saying what a matvec search at load chose, or '' without one. */
export function matvecSearchLine(info: ModelInfo): string {
  const r = info.matvecTuning;
  if (!r) return '';
  const timed = r.candidates.filter((c) => c.ms !== null);
  const confirm = r.confirm ? `; again, alternately: ${r.confirm.label} ${r.confirm.ms.toFixed(3)} ms, default ${r.confirm.defaultMs.toFixed(3)} ms` : '';
  const m = r.memory;
  const when = m?.measuredAt
    ? `remembered from a search at ${m.measuredAt} (${m.searchMs!.toFixed(0)} ms then, ${r.tookMs.toFixed(0)} ms now) that timed ${timed.length}`
    : `chosen at load from ${timed.length} timed in ${r.tookMs.toFixed(0)} ms`;
  const kept = m?.error ? `; matvec cache: ${m.error}` : m?.replaced ? `; replaces the choice measured at ${m.replaced}` : '';
  return `matvec tuning: ${r.chosen}, ${when} (${timed.map((c) => `${c.label} ${c.ms!.toFixed(3)} ms`).join(', ')}${confirm})${kept}\n`;
}
