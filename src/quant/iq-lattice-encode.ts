// Encoders for the lattice types iq-grid-encode.ts leaves out: IQ2_XS,
// IQ2_S, IQ3_S, IQ1_S and IQ1_M (layouts in iq-grid-types.ts). Enough to
// write synthetic models of these types that llama.cpp and WebClaw both run;
// not llama-quantize's search (no importance matrix, no joint scale and
// entry search). Their grids have up to 2048 entries, too many to search per
// group: each element is rounded to its nearest grid level, and a table per
// grid (built once) maps those rounded codes to the grid entry nearest to
// them. (iq-grid-encode.ts searches the 256-entry grids of IQ2_XXS and
// IQ3_XXS exhaustively: this table instead gave 41% and 21% round-trip
// error there against 35% and 18%.) Sub-block scales: the largest magnitude over the grid's largest
// level, then the block's f16 d from the largest of them, each scale
// rounded to its field, and the entries chosen again at the stored scale.

import { f16BitsToF32, f32ToF16Bits, readF16, writeF16 } from './f16';
import { IQ1_DELTA, gridValue } from './iq-grid-types';
import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ3S_GRID, type IqGrid } from './iq-grids';
import { groupSigns } from './iq-grid-encode';

const fround = Math.fround;
const tables = new Map<IqGrid, Uint16Array>();

/** For every vector of level codes (code j at digit j, base levels.length), the nearest grid entry in squared error. */
function nearestEntryTable(grid: IqGrid): Uint16Array {
  let table = tables.get(grid);
  if (table) return table;
  const L = grid.levels.length;
  const w = grid.width;
  const entries = grid.packed.length * 2;
  const values = new Float64Array(entries * w);
  for (let e = 0; e < entries; e++) for (let j = 0; j < w; j++) values[e * w + j] = gridValue(grid, e, j);
  table = new Uint16Array(L ** w);
  const v = new Float64Array(w);
  for (let c = 0; c < table.length; c++) {
    for (let j = 0, r = c; j < w; j++, r = Math.floor(r / L)) v[j] = grid.levels[r % L];
    let best = 0;
    let bestErr = Infinity;
    for (let e = 0; e < entries; e++) {
      let err = 0;
      for (let j = 0; j < w; j++) err += (v[j] - values[e * w + j]) ** 2;
      if (err < bestErr) {
        bestErr = err;
        best = e;
      }
    }
    table[c] = best;
  }
  tables.set(grid, table);
  return table;
}

/** The grid entry for targets t[at .. at + width) (already divided by the scale); adds its squared error (in target units) to err[0]. */
function entryFor(grid: IqGrid, t: ArrayLike<number>, at: number, err?: Float64Array): number {
  const L = grid.levels.length;
  let code = 0;
  for (let j = grid.width - 1; j >= 0; j--) {
    let k = 0;
    for (let i = 1; i < L; i++) if (Math.abs(t[at + j] - grid.levels[i]) < Math.abs(t[at + j] - grid.levels[k])) k = i;
    code = code * L + k;
  }
  const e = nearestEntryTable(grid)[code];
  if (err) for (let j = 0; j < grid.width; j++) err[0] += (t[at + j] - gridValue(grid, e, j)) ** 2;
  return e;
}

/** Scale field s for a wanted scale `want`, where the stored scale is d * mult(s), s in 0..maxS. */
function scaleField(want: number, d: number, mult: (s: number) => number, maxS: number): number {
  if (!(d > 0)) return 0;
  let best = 0;
  for (let s = 1; s <= maxS; s++) if (Math.abs(d * mult(s) - want) < Math.abs(d * mult(best) - want)) best = s;
  return best;
}

function amaxOf(x: Float32Array, start: number, n: number): number {
  let m = 0;
  for (let j = 0; j < n; j++) m = Math.max(m, Math.abs(x[start + j]));
  return m;
}

/** Magnitudes (with IQ2's 7-bit sign field: parity-flipped) over scale db into t; returns the sign field (7 or 8 bits). */
function signedTargets(x: Float32Array, start: number, db: number, t: Float64Array, parity: boolean): number {
  let signs = 0;
  if (parity) {
    signs = groupSigns(x, start, t, 0);
  } else {
    for (let j = 0; j < 8; j++) {
      if (x[start + j] < 0) signs |= 1 << j;
      t[j] = Math.abs(x[start + j]);
    }
  }
  for (let j = 0; j < 8; j++) t[j] = db > 0 ? t[j] / db : 0;
  return signs;
}

/** IQ2_XS and IQ2_S: a 4-bit scale per 16 elements, db = d * (0.5 + s) * 0.25. */
function quantizeIQ2Scaled(x: Float32Array, dst: Uint8Array, nBlocks: number, blockBytes: number, grid: IqGrid, put: (o: number, g: number, entry: number, signs: number) => void, scalesAt: number, parity: boolean): void {
  const mult = (s: number) => fround(0.5 + s) * 0.25;
  const t = new Float64Array(8);
  const want = new Float64Array(16);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * blockBytes;
    for (let h = 0; h < 16; h++) want[h] = amaxOf(x, b * 256 + 16 * h, 16) / 43;
    writeF16(dst, o, Math.max(...want) / mult(15));
    const d = readF16(dst, o);
    for (let ib = 0; ib < 8; ib++) {
      const lo = scaleField(want[2 * ib], d, mult, 15);
      const hi = scaleField(want[2 * ib + 1], d, mult, 15);
      dst[o + scalesAt + ib] = lo | (hi << 4);
      for (let l = 0; l < 4; l++) {
        const db = fround(fround(d * (0.5 + (l < 2 ? lo : hi))) * 0.25);
        const signs = signedTargets(x, b * 256 + 32 * ib + 8 * l, db, t, parity);
        put(o, 4 * ib + l, entryFor(grid, t, 0), signs);
      }
    }
  }
}

export function quantizeIQ2_XS(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  quantizeIQ2Scaled(x, dst, nBlocks, 74, IQ2XS_GRID, (o, g, entry, signs) => {
    const q = entry | (signs << 9);
    dst[o + 2 + 2 * g] = q & 0xff;
    dst[o + 3 + 2 * g] = q >> 8;
  }, 66, true);
}

export function quantizeIQ2_S(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  quantizeIQ2Scaled(x, dst, nBlocks, 82, IQ2S_GRID, (o, g, entry, signs) => {
    const ib = g >> 2;
    const l = g & 3;
    if (l === 0) dst[o + 66 + ib] = 0;
    dst[o + 2 + g] = entry & 0xff;
    dst[o + 34 + g] = signs;
    dst[o + 66 + ib] |= (entry >> 8) << (2 * l);
  }, 74, false);
}

/**
 * The IQ3_S scale wanted for 32 elements: of a few multiples of amax / 15
 * (the top level), the one with the least error (few entries repeat a high
 * level, so a flat sub-block fits lower levels at a larger scale better).
 */
function iq3Want(x: Float32Array, start: number, t: Float64Array): number {
  const top = amaxOf(x, start, 32) / 15;
  const err = new Float64Array(1);
  let best = top;
  let bestErr = Infinity;
  for (const f of [0.8, 1, 1.3, 1.7, 2.2, 3]) {
    err[0] = 0;
    for (let l = 0; l < 4; l++) {
      signedTargets(x, start + 8 * l, top * f, t, false);
      entryFor(IQ3S_GRID, t, 0, err);
      entryFor(IQ3S_GRID, t, 4, err);
    }
    if (err[0] * f * f < bestErr) {
      bestErr = err[0] * f * f;
      best = top * f;
    }
  }
  return best;
}

/** IQ3_S: a 4-bit scale per 32 elements, db = d * (1 + 2s); two 4-wide entries and 8 sign bits per group of 8. */
export function quantizeIQ3_S(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const mult = (s: number) => 1 + 2 * s;
  const t = new Float64Array(8);
  const want = new Float64Array(8);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 110;
    for (let ib = 0; ib < 8; ib++) want[ib] = iq3Want(x, b * 256 + 32 * ib, t);
    writeF16(dst, o, Math.max(...want) / mult(15));
    const d = readF16(dst, o);
    dst.fill(0, o + 106, o + 110);
    for (let ib = 0; ib < 8; ib++) {
      const s = scaleField(want[ib], d, mult, 15);
      dst[o + 106 + (ib >> 1)] |= s << (4 * (ib & 1));
      const db = fround(d * mult(s));
      let qh = 0;
      for (let l = 0; l < 4; l++) {
        dst[o + 74 + 4 * ib + l] = signedTargets(x, b * 256 + 32 * ib + 8 * l, db, t, false);
        const e0 = entryFor(IQ3S_GRID, t, 0);
        const e1 = entryFor(IQ3S_GRID, t, 4);
        dst[o + 2 + 8 * ib + 2 * l] = e0 & 0xff;
        dst[o + 3 + 8 * ib + 2 * l] = e1 & 0xff;
        qh |= ((e0 >> 8) << (2 * l)) | ((e1 >> 8) << (2 * l + 1));
      }
      dst[o + 66 + ib] = qh;
    }
  }
}

/**
 * The IQ1 entry for x[start .. start + 8) at scale dl with shift `delta`,
 * and its squared error (in x units).
 */
function iq1Group(x: Float32Array, start: number, dl: number, delta: number, t: Float64Array, err: Float64Array): number {
  for (let j = 0; j < 8; j++) t[j] = dl > 0 ? x[start + j] / dl - delta : 0;
  err[0] = 0;
  const e = entryFor(IQ1S_GRID, t, 0, err);
  err[0] *= dl * dl;
  return e;
}

/**
 * Entries for `groups` groups of 8 sharing one shift, with the shift's sign
 * (0: +delta, 1: -delta) that gives the smaller squared error: the sign
 * goes to sign[0]; returns that error.
 */
function iq1Groups(x: Float32Array, start: number, groups: number, dl: number, entries: Uint16Array, sign: Uint8Array, t: Float64Array): number {
  const err = new Float64Array(1);
  const trial = new Uint16Array(groups);
  let bestErr = Infinity;
  for (const s of [0, 1]) {
    let total = 0;
    for (let g = 0; g < groups; g++) {
      trial[g] = iq1Group(x, start + 8 * g, dl, s ? -IQ1_DELTA : IQ1_DELTA, t, err);
      total += err[0];
    }
    if (total < bestErr) {
      bestErr = total;
      sign[0] = s;
      entries.set(trial);
    }
  }
  return bestErr;
}

/**
 * The IQ1 scale wanted for n elements: the grid is {-1, 0, 1}, so at
 * amax / 1.125 most elements round to 0; of a few fractions of that, the
 * one with the least error (each shift sign at its best).
 */
function iq1Want(x: Float32Array, start: number, n: number, groupsPerDelta: number, t: Float64Array): number {
  const amax = amaxOf(x, start, n) / (1 + IQ1_DELTA);
  const entries = new Uint16Array(groupsPerDelta);
  const sign = new Uint8Array(1);
  let best = amax;
  let bestErr = Infinity;
  for (const f of [0.4, 0.55, 0.7, 0.85, 1]) {
    let total = 0;
    for (let g = 0; g < n / 8; g += groupsPerDelta) total += iq1Groups(x, start + 8 * g, groupsPerDelta, amax * f, entries, sign, t);
    if (total < bestErr) {
      bestErr = total;
      best = amax * f;
    }
  }
  return best;
}

/** IQ1_S: a 3-bit scale and one delta sign per 32 elements, dl = d * (2s + 1). */
export function quantizeIQ1_S(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const mult = (s: number) => 2 * s + 1;
  const t = new Float64Array(8);
  const want = new Float64Array(8);
  const entries = new Uint16Array(4);
  const sign = new Uint8Array(1);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 50;
    for (let ib = 0; ib < 8; ib++) want[ib] = iq1Want(x, b * 256 + 32 * ib, 32, 4, t);
    writeF16(dst, o, Math.max(...want) / mult(7));
    const d = readF16(dst, o);
    for (let ib = 0; ib < 8; ib++) {
      const s = scaleField(want[ib], d, mult, 7);
      iq1Groups(x, b * 256 + 32 * ib, 4, fround(d * mult(s)), entries, sign, t);
      let qh = (s << 12) | (sign[0] << 15);
      for (let l = 0; l < 4; l++) {
        dst[o + 2 + 4 * ib + l] = entries[l] & 0xff;
        qh |= (entries[l] >> 8) << (3 * l);
      }
      dst[o + 34 + 2 * ib] = qh & 0xff;
      dst[o + 35 + 2 * ib] = qh >> 8;
    }
  }
}

/** IQ1_M: a 3-bit scale per 16 elements and a delta sign per 8, dl = d * (2s + 1); d's f16 bits in the top nibbles of the scale words. */
export function quantizeIQ1_M(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const mult = (s: number) => 2 * s + 1;
  const t = new Float64Array(8);
  const want = new Float64Array(16);
  const entries = new Uint16Array(1);
  const sign = new Uint8Array(1);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 56;
    for (let h = 0; h < 16; h++) want[h] = iq1Want(x, b * 256 + 16 * h, 16, 1, t);
    const dBits = f32ToF16Bits(Math.max(...want) / mult(7));
    const d = f16BitsToF32(dBits);
    const scales = new Uint16Array(4);
    for (let k = 0; k < 4; k++) scales[k] = ((dBits >> (4 * k)) & 0xf) << 12;
    for (let ib = 0; ib < 8; ib++) {
      for (let half = 0; half < 2; half++) {
        const s = scaleField(want[2 * ib + half], d, mult, 7);
        scales[ib >> 1] |= s << (6 * (ib & 1) + 3 * half);
        const dl = fround(d * mult(s));
        for (let l = 2 * half; l < 2 * half + 2; l++) {
          iq1Groups(x, b * 256 + 32 * ib + 8 * l, 1, dl, entries, sign, t);
          dst[o + 4 * ib + l] = entries[0] & 0xff;
          const nibble = (entries[0] >> 8) | (sign[0] << 3);
          const at = o + 32 + 2 * ib + (l >> 1);
          dst[at] = (l & 1) === 0 ? nibble : dst[at] | (nibble << 4);
        }
      }
    }
    for (let k = 0; k < 4; k++) {
      dst[o + 48 + 2 * k] = scales[k] & 0xff;
      dst[o + 49 + 2 * k] = scales[k] >> 8;
    }
  }
}
