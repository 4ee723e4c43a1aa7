// Encoders for two lattice types, IQ2_XXS and IQ3_XXS (layouts in
// iq-grid-types.ts): enough to write synthetic models of an IQ2 and an IQ3
// type that llama.cpp and WebClaw both run. Not llama-quantize's search
// (which weighs errors by an importance matrix); per group of 8 it fixes
// the signs from x (flipping the smallest element when the count of
// negatives is odd, as the 7-bit sign field demands), then takes the grid
// entry nearest in squared error, with the sub-block scale refitted once
// by least squares.

import { readF16, writeF16 } from './f16';
import { gridValue } from './iq-grid-types';
import { IQ2XXS_GRID, IQ3XXS_GRID, type IqGrid } from './iq-grids';
import { nearestInt } from './fit';

interface Lattice {
  grid: IqGrid;
  /** Grid entries per group of 8 (8 / grid.width). */
  perGroup: number;
  /** db = d * (0.5 + s) * step. */
  step: number;
}

const IQ2XXS: Lattice = { grid: IQ2XXS_GRID, perGroup: 1, step: 0.25 };
const IQ3XXS: Lattice = { grid: IQ3XXS_GRID, perGroup: 2, step: 0.5 };

const expanded = new Map<IqGrid, Float32Array>();
/** Every entry's values, entry-major. */
function gridValues(grid: IqGrid): Float32Array {
  let values = expanded.get(grid);
  if (!values) {
    const n = grid.packed.length * 2;
    values = new Float32Array(n * grid.width);
    for (let i = 0; i < n; i++) for (let j = 0; j < grid.width; j++) values[i * grid.width + j] = gridValue(grid, i, j);
    expanded.set(grid, values);
  }
  return values;
}

/** The entry of `grid` whose values times db are nearest to a[at .. at + width). */
function nearestEntry(values: Float32Array, width: number, a: Float64Array, at: number, db: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let e = 0, o = 0; o < values.length; e++, o += width) {
    let err = 0;
    for (let j = 0; j < width; j++) err += (a[at + j] - db * values[o + j]) ** 2;
    if (err < bestErr) {
      bestErr = err;
      best = e;
    }
  }
  return best;
}

/**
 * The 7-bit sign field of x[start .. start + 8) and the magnitudes the grid
 * must match (negative for an element whose sign was flipped for parity).
 */
export function groupSigns(x: Float32Array, start: number, a: Float64Array, at: number): number {
  let bits = 0;
  let smallest = 0;
  for (let j = 0; j < 8; j++) {
    if (x[start + j] < 0) bits |= 1 << j;
    if (Math.abs(x[start + j]) < Math.abs(x[start + smallest])) smallest = j;
  }
  let parity = bits;
  parity ^= parity >> 4;
  parity ^= parity >> 2;
  parity ^= parity >> 1;
  if (parity & 1) bits ^= 1 << smallest;
  for (let j = 0; j < 8; j++) a[at + j] = (bits >> j) & 1 ? -x[start + j] : x[start + j];
  return bits & 127;
}

/** Entries for the 32 targets a[0..32) at scale db, into `entries` (4 * perGroup); returns the least-squares scale for them. */
function fitSubBlock(lat: Lattice, a: Float64Array, db: number, entries: Uint16Array): number {
  const values = gridValues(lat.grid);
  const w = lat.grid.width;
  let ag = 0;
  let gg = 0;
  for (let k = 0; k < 32 / w; k++) {
    const e = db > 0 ? nearestEntry(values, w, a, k * w, db) : 0;
    entries[k] = e;
    for (let j = 0; j < w; j++) {
      ag += a[k * w + j] * values[e * w + j];
      gg += values[e * w + j] ** 2;
    }
  }
  return gg > 0 ? Math.max(0, ag / gg) : 0;
}

function quantizeLattice(lat: Lattice, x: Float32Array, dst: Uint8Array, nBlocks: number, blockBytes: number, pack: (o: number, ib: number, s: number, signs: Uint8Array, entries: Uint16Array) => void): void {
  const a = new Float64Array(32 * 8);
  const signs = new Uint8Array(4 * 8);
  const entries = new Uint16Array(8);
  const scales = new Float64Array(8);
  const maxLevel = Math.max(...lat.grid.levels);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * blockBytes;
    for (let ib = 0; ib < 8; ib++) {
      let amax = 0;
      for (let l = 0; l < 4; l++) signs[4 * ib + l] = groupSigns(x, b * 256 + 32 * ib + 8 * l, a, 32 * ib + 8 * l);
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[b * 256 + 32 * ib + j]));
      scales[ib] = fitSubBlock(lat, a.subarray(32 * ib), amax / maxLevel, entries);
    }
    // d maps the largest sub-block scale to the top of the 4-bit range (s = 15).
    writeF16(dst, o, Math.max(...scales) / (15.5 * lat.step));
    const d = readF16(dst, o);
    for (let ib = 0; ib < 8; ib++) {
      const s = d > 0 ? Math.min(15, Math.max(0, nearestInt(scales[ib] / (d * lat.step) - 0.5))) : 0;
      fitSubBlock(lat, a.subarray(32 * ib), Math.fround(Math.fround(d * (0.5 + s)) * lat.step), entries);
      pack(o, ib, s, signs.subarray(4 * ib), entries);
    }
  }
}

function putU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = v >>> 24;
}

export function quantizeIQ2_XXS(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  quantizeLattice(IQ2XXS, x, dst, nBlocks, 66, (o, ib, s, signs, entries) => {
    const q = o + 2 + 8 * ib;
    for (let l = 0; l < 4; l++) dst[q + l] = entries[l];
    putU32(dst, q + 4, (signs[0] | (signs[1] << 7) | (signs[2] << 14) | (signs[3] << 21) | (s << 28)) >>> 0);
  });
}

export function quantizeIQ3_XXS(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  quantizeLattice(IQ3XXS, x, dst, nBlocks, 98, (o, ib, s, signs, entries) => {
    for (let k = 0; k < 8; k++) dst[o + 2 + 8 * ib + k] = entries[k];
    putU32(dst, o + 66 + 4 * ib, (signs[0] | (signs[1] << 7) | (signs[2] << 14) | (signs[3] << 21) | (s << 28)) >>> 0);
  });
}
