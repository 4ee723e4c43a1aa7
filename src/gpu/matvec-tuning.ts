// How matvec_fused (the decode pass's projections, GPU family) spreads a
// projection over threads: the defaults, and the checks on an override.

import { ClawError } from '../errors';

/**
 * A block of `lanes` threads takes `rowsPerBlock` consecutive rows and
 * loads each block of the input once for them; lanes = the row's
 * 32-element blocks / `blocksPerLane`, rounded down to a power of two, at
 * most `maxLanes`; a workgroup of `workgroup` threads holds
 * workgroup / lanes blocks. Lanes add up their sums by a tree in workgroup
 * memory. `wideLoads` reads the weights of the types whose 16-byte groups
 * are aligned (WIDE_LOAD_TYPES in weight-pieces.ts) through `vec4<u32>`
 * bindings, one load per 16 bytes. `xTile` (elements, a multiple of 32; 0:
 * off) has the workgroup load the input into workgroup memory that many
 * elements at a time, with coalesced loads, for its lanes to read.
 * `int8Dot` has each lane quantize its input block to int8 (one f32 scale
 * per 32 elements, amax / 127, as llama.cpp's Q8_0) and take integer dot
 * products (dot4I8Packed) with the weights' quants, scales and mins once
 * per (sub-)block, for dispatches whose every weight type has an int8 piece
 * (INT8_DOT_PIECES in weight-pieces.ts: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
 * Q5_K, Q6_K) and whose rows are whole 32-blocks; other dispatches keep the
 * f32 pieces. It works with xTile and with wideLoads (Q4_K and Q5_K have
 * wide int8 pieces), and needs the WGSL language feature
 * packed_4x8_integer_dot_product (refused with clw-bad-request without
 * it). See docs/gpu-kernels.md for its error.
 */
export interface MatvecTuning {
  workgroup: number;
  rowsPerBlock: number;
  maxLanes: number;
  blocksPerLane: number;
  wideLoads: boolean;
  xTile: number;
  int8Dot: boolean;
}

/**
 * The defaults. int8Dot stays off until it is measured on a GPU.
 * rowsPerBlock 4 was the fastest of 1, 2, 4 and 8 on an H200
 * (BENCHMARKS.md, "On a real GPU"); the others have not been swept on a GPU
 * yet (bench:gpu --tune). `GpuOpsOptions.matvec` overrides them.
 */
export const MATVEC_TUNING: Readonly<MatvecTuning> = { workgroup: 128, rowsPerBlock: 4, maxLanes: 32, blocksPerLane: 2, wideLoads: false, xTile: 0, int8Dot: false };

/** The defaults with `override` applied, checked against the device's limits and WGSL features (clw-bad-request names the field). */
export function resolveMatvecTuning(
  override: Partial<MatvecTuning> | undefined,
  limits: { maxComputeInvocationsPerWorkgroup: number; maxComputeWorkgroupStorageSize: number },
  features: { packedInt8Dot: boolean },
): Readonly<MatvecTuning> {
  const t = { ...MATVEC_TUNING, ...override };
  const powerOfTwo = (n: number) => Number.isInteger(n) && n >= 1 && Number.isInteger(Math.log2(n));
  const bad = (field: keyof MatvecTuning, why: string) => new ClawError('clw-bad-request', `matvec tuning ${field} ${String(t[field])}: ${why}`);
  if (!powerOfTwo(t.workgroup) || t.workgroup > limits.maxComputeInvocationsPerWorkgroup) throw bad('workgroup', `needs a power of two up to ${limits.maxComputeInvocationsPerWorkgroup}`);
  if (!powerOfTwo(t.maxLanes)) throw bad('maxLanes', 'needs a power of two');
  if (!Number.isInteger(t.rowsPerBlock) || t.rowsPerBlock < 1 || t.rowsPerBlock > 16) throw bad('rowsPerBlock', 'needs an integer from 1 to 16');
  if (!(t.blocksPerLane > 0)) throw bad('blocksPerLane', 'needs a positive number');
  if (!Number.isInteger(t.xTile) || t.xTile < 0 || t.xTile % 32 !== 0) throw bad('xTile', 'needs 0 or a multiple of 32');
  if (t.int8Dot && !features.packedInt8Dot) throw bad('int8Dot', 'needs the WGSL language feature packed_4x8_integer_dot_product, which this device lacks');
  // matvec_fused's workgroup memory: 2 x rowsPerBlock + 1 floats per thread, and the input tile.
  const sums = t.workgroup * (2 * t.rowsPerBlock + 1) * 4;
  if (sums > limits.maxComputeWorkgroupStorageSize) throw bad('rowsPerBlock', `needs ${sums} bytes of workgroup memory with ${t.workgroup} threads; the device has ${limits.maxComputeWorkgroupStorageSize}`);
  if (sums + t.xTile * 4 > limits.maxComputeWorkgroupStorageSize) throw bad('xTile', `needs ${sums + t.xTile * 4} bytes of workgroup memory with the row sums; the device has ${limits.maxComputeWorkgroupStorageSize}`);
  return t;
}

/**
 * The decode pass's matvec tuning: fields over the defaults for every
 * projection, or per projection site (`bySite`, keyed by decode-matvec.ts
 * matvecSite: `attn_q.weight`, `ffn_down.weight`, `output.weight`, ...;
 * a site not named keeps the defaults).
 */
export type MatvecChoice = Partial<MatvecTuning> | { readonly bySite: Readonly<Record<string, Partial<MatvecTuning>>> };

/** The tuning of each site under `choice`, each checked as resolveMatvecTuning checks one. */
export function resolveMatvecChoice(choice: MatvecChoice | undefined, resolve: (t: Partial<MatvecTuning> | undefined) => Readonly<MatvecTuning>): (site: string) => Readonly<MatvecTuning> {
  if (choice && 'bySite' in choice) {
    const base = resolve(undefined);
    const sites = new Map(Object.entries(choice.bySite).map(([site, t]) => [site, resolve(t)]));
    return (site) => sites.get(site) ?? base;
  }
  const one = resolve(choice);
  return () => one;
}

/** A tuning of a benchmark's sweep: its label and the fields it overrides. */
export interface MatvecTuningCase {
  label: string;
  matvec: Partial<MatvecTuning>;
}

/**
 * The `--tune` of bench:gpu and bench/matvec.ts: tunings separated by ';',
 * each `default` or comma-separated `field=value` pairs of MatvecTuning
 * (booleans as 0/1), e.g. `default;maxLanes=128;workgroup=256,maxLanes=256,wideLoads=1`.
 */
export function parseMatvecTunings(spec: string): MatvecTuningCase[] {
  return spec.split(';').map((label) => {
    const matvec: Record<string, number | boolean> = {};
    if (label.trim() !== 'default') {
      for (const pair of label.split(',')) {
        const [key, value] = pair.split('=').map((x) => x.trim());
        if (!(key in MATVEC_TUNING) || value === undefined || !Number.isFinite(Number(value))) throw new ClawError('clw-bad-request', `matvec tuning "${pair}" is not field=number of ${Object.keys(MATVEC_TUNING).join(', ')}`);
        matvec[key] = typeof MATVEC_TUNING[key as keyof MatvecTuning] === 'boolean' ? Number(value) !== 0 : Number(value);
      }
    }
    return { label: label.trim(), matvec: matvec as Partial<MatvecTuning> };
  });
}
