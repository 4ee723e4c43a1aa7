// The VRAM budget: how many bytes of GPU memory the engine lets itself use.
//
// WebGPU never reports total or free video memory (it would be a
// fingerprinting vector), so the default starts from what the adapter does
// tell us: whether it is a software fallback, its vendor / architecture /
// description strings, and its buffer limits. On a discrete GPU, whose
// driver refuses an allocation past its memory with an out-of-memory error
// (caught in an error scope), the default is the whole class ceiling and the
// loader measures: a refused allocation lowers the budget to the bytes the
// GPU accepted. Elsewhere (shared memory, where going over can take the tab
// down) the default is a guessed share of the ceiling. See docs/memory.md.

import { ClawError } from '../errors';
import { DEFAULT_LOAD } from '../engine/defaults';

export type VramLimit = { fraction: number } | { bytes: number };

/** The adapter facts the budget is guessed from (GPUAdapterInfo + GPUSupportedLimits). */
export interface AdapterMemoryHints {
  description?: string;
  vendor?: string;
  architecture?: string;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  isFallbackAdapter?: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const UNITS: Record<string, number> = {
  b: 1,
  kib: KiB,
  mib: MiB,
  gib: GiB,
  tib: 1024 * GiB,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
};

const ACCEPTED_FORMS = "a fraction in (0, 1] such as '0.8', a percentage such as '80%', or a size such as '3000MiB', '2GiB', '512MB', '1.5GB' or '1073741824' (bytes)";

function badLimit(text: string, why: string): ClawError {
  return new ClawError('clw-bad-request', `VRAM limit "${text}" ${why}`, {
    fix: `Give ${ACCEPTED_FORMS}.`,
    details: { value: text },
  });
}

/**
 * Parses a VRAM limit as the user writes it (CLAW_VRAM_LIMIT, --vram-limit, the
 * settings field). A bare number up to 1 is a fraction of the automatic
 * ceiling; a bare number above 1 is bytes; units are binary (KiB, MiB, GiB,
 * TiB) or decimal (KB, MB, GB, TB), case-insensitive.
 */
export function parseVramLimit(text: string): VramLimit {
  const trimmed = text.trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(%|[kmgt]i?b|b)?$/i.exec(trimmed);
  if (!m) throw badLimit(text, 'is not a fraction, a percentage or a size');
  const value = Number(m[1]);
  const unit = m[2]?.toLowerCase();
  if (!Number.isFinite(value) || value <= 0) throw badLimit(text, 'must be greater than zero');

  if (unit === '%') {
    if (value > 100) throw badLimit(text, 'is more than 100%');
    return { fraction: value / 100 };
  }
  if (unit === undefined) {
    if (value <= 1) return { fraction: value };
    if (!Number.isInteger(value)) throw badLimit(text, 'is more than 1 but not a whole number of bytes');
    return { bytes: value };
  }
  const bytes = Math.floor(value * UNITS[unit]);
  if (bytes < 1) throw badLimit(text, 'is less than one byte');
  return { bytes };
}

/** The class of GPU, as far as the adapter's strings let us tell. */
export type GpuClass = 'software' | 'integrated' | 'apple' | 'discrete' | 'unknown';

/**
 * The most memory we believe a tab can use on each class of GPU. The default
 * budget is all of it on a discrete GPU (measured: see resolveBudget) and
 * DEFAULT_LOAD.guessedVramShare of it elsewhere; a fractional limit ('0.8')
 * is a share of it.
 * - software: SwiftShader / llvmpipe / WARP use system RAM and are slow; big
 *   models are pointless there anyway.
 * - integrated / mobile: shares system RAM with the OS and the browser; many
 *   such laptops have 8 GB in all.
 * - apple: unified memory, usually 8 GB or more, and Metal lets a process use
 *   most of it.
 * - discrete: dedicated VRAM, up to 24 GB on consumer cards; the browser,
 *   the compositor and other tabs share it. A card with less refuses the
 *   allocation that passes its memory, and the load re-plans to what it took.
 * - unknown: many browsers hide the adapter strings; assume a laptop.
 */
export const TAB_MEMORY_CEILING: Readonly<Record<GpuClass, number>> = {
  software: 2 * GiB,
  integrated: 3 * GiB,
  apple: 5 * GiB,
  discrete: 24 * GiB,
  unknown: 3 * GiB,
};

/** Classes whose driver reports running out of memory as a refused allocation, so the budget can be measured instead of guessed. */
const MEASURED: ReadonlySet<GpuClass> = new Set<GpuClass>(['discrete']);

/**
 * A GPU whose largest buffer is small is a small GPU: never believe more than
 * this many of its largest buffers fit.
 */
const MAX_BUFFERS_OF_MAX_SIZE = 8;

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|softpipe|\bwarp\b|microsoft basic render|software/i;
const INTEGRATED = /integrated|\buhd\b|\biris\b|\bhd graphics\b|mali|adreno|powervr|immortalis|xclipse|videocore|radeon\(tm\) graphics|radeon graphics|vega \d\b|gen-\d|xe-lp/i;
const APPLE = /\bapple\b|\bm[1-9]\b/i;
const DISCRETE = /nvidia|geforce|\brtx\b|\bgtx\b|quadro|tesla|radeon rx|radeon pro|\brx \d|instinct|\barc\b|xe-hpg|\bampere\b|\bada\b|lovelace|turing|hopper|blackwell|rdna|\bamd\b/i;

/** Classifies the adapter from its strings; the order matters (an AMD iGPU says "AMD" too). */
export function classifyGpu(adapter: AdapterMemoryHints): GpuClass {
  const text = [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(' ');
  if (adapter.isFallbackAdapter || SOFTWARE.test(text)) return 'software';
  if (INTEGRATED.test(text)) return 'integrated';
  if (APPLE.test(text)) return 'apple';
  if (DISCRETE.test(text)) return 'discrete';
  return 'unknown';
}

/** The most a tab should ever use on this adapter: the class ceiling, lowered for GPUs with small buffers. */
export function tabMemoryCeiling(adapter: AdapterMemoryHints): number {
  const byClass = TAB_MEMORY_CEILING[classifyGpu(adapter)];
  const largestBuffer = Math.max(adapter.maxBufferSize, adapter.maxStorageBufferBindingSize);
  if (!(largestBuffer > 0)) return byClass;
  return Math.min(byClass, largestBuffer * MAX_BUFFERS_OF_MAX_SIZE);
}

/** Whether the automatic budget on this adapter is measured (the ceiling, lowered by the first refused allocation) rather than guessed. */
export function budgetIsMeasured(adapter: AdapterMemoryHints): boolean {
  return MEASURED.has(classifyGpu(adapter));
}

/** The budget used when the user sets none: the ceiling where it is measured, a guessed share of it elsewhere. */
export function defaultVramBudget(adapter: AdapterMemoryHints): number {
  const share = budgetIsMeasured(adapter) ? 1 : DEFAULT_LOAD.guessedVramShare;
  return Math.floor(tabMemoryCeiling(adapter) * share);
}

/**
 * Bytes the engine may use: the default when no limit is set, a share of the
 * ceiling for a fraction, and exactly the given bytes otherwise (the user
 * knows their GPU better than our guess does).
 */
export function resolveBudget(limit: VramLimit | undefined, adapter: AdapterMemoryHints): number {
  if (limit === undefined) return defaultVramBudget(adapter);
  if ('fraction' in limit) {
    if (!(limit.fraction > 0 && limit.fraction <= 1)) throw badLimit(String(limit.fraction), 'is not a fraction in (0, 1]');
    return Math.floor(tabMemoryCeiling(adapter) * limit.fraction);
  }
  if (!(Number.isFinite(limit.bytes) && limit.bytes >= 1)) throw badLimit(String(limit.bytes), 'is not a positive number of bytes');
  return Math.floor(limit.bytes);
}
