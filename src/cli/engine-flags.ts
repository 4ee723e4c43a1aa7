// The CLI flags that choose how the engine runs (not what it loads or generates):
// --matvec, and the line run and serve print about it.

import { ClawError } from '../errors';
import type { EngineOptions } from '../engine/engine';
import type { ModelInfo } from '../engine/types';

/** --matvec auto: the decode pass's matvec tuning is timed on the GPU at load (GpuOpsOptions.matvec); default: the built-in one. */
export function engineOptionsFrom(flags: ReadonlyMap<string, string | number | boolean>): EngineOptions {
  const matvec = flags.get('matvec') as string | undefined;
  if (matvec !== undefined && matvec !== 'auto' && matvec !== 'default') throw new ClawError('clw-bad-request', `--matvec expects default or auto, got "${matvec}"`);
  return matvec === 'auto' ? { kernels: { matvec: 'auto' } } : {};
}

/** The line saying what a matvec search at load chose, or '' without one. */
export function matvecSearchLine(info: ModelInfo): string {
  const r = info.matvecTuning;
  if (!r) return '';
  const timed = r.candidates.filter((c) => c.ms !== null);
  const confirm = r.confirm ? `; again, alternately: ${r.confirm.label} ${r.confirm.ms.toFixed(3)} ms, default ${r.confirm.defaultMs.toFixed(3)} ms` : '';
  return `matvec tuning: ${r.chosen}, chosen at load from ${timed.length} timed in ${r.tookMs.toFixed(0)} ms (${timed.map((c) => `${c.label} ${c.ms!.toFixed(3)} ms`).join(', ')}${confirm})\n`;
}
