// The lattice ("i-quant") formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S,
// IQ1_S and IQ1_M: each group of 8 (IQ3: 4) elements is one entry of a
// fixed grid (src/quant/iq-grids.ts), with per-element signs (IQ2/IQ3) or
// a per-group shift delta (IQ1), times a per-32 (IQ1_M: per-16) scale.
// Decoding matches llama.cpp's dequantize_row_* bit for bit: every product
// here is exact in f32 (an 11-bit f16 significand times small integers), so
// one rounding (Math.fround) per value reproduces C's.
//
// Block layouts (256 elements; sub-block ib = 32 elements, group l = 8):
//   IQ2_XXS  66 B: f16 d, u32 pairs @2+8ib: 4 grid bytes | u32 (4 x 7 sign
//                  bits, scale in bits 28..31); db = d * (0.5 + s) * 0.25
//   IQ2_XS   74 B: f16 d, u16 qs[32] @2 (9-bit grid index, 7 sign bits),
//                  scales[8] @66 (a nibble per 16 elements)
//   IQ2_S    82 B: f16 d, grid low bytes[32] @2, sign bytes[32] @34,
//                  qh[8] @66 (2 high index bits per group), scales[8] @74
//   IQ3_XXS  98 B: f16 d, grid bytes[64] @2 (two 4-wide entries per
//                  group), u32 sign/scale words[8] @66; db = d * (0.5 + s) * 0.5
//   IQ3_S   110 B: f16 d, grid low bytes[64] @2, qh[8] @66 (the 9th index
//                  bit of each entry), sign bytes[32] @74, scales[4] @106;
//                  db = d * (1 + 2s)
//   IQ1_S    50 B: f16 d, grid low bytes[32] @2, u16 qh[8] @34 (3 high
//                  index bits per group, a 3-bit scale, the delta's sign)
//   IQ1_M    56 B: grid low bytes[32] @0, qh[16] @32 (3 high bits and the
//                  delta's sign per group), scales[8] @48: 3-bit scales, and
//                  the f16 d spread over the top nibbles of its four u16s
// Signs: a 7-bit field s stands for the byte s | parity(s) << 7 (ggml's
// ksigns_iq2xs): bit j set makes element j negative.

import { f16BitsToF32, readF16 } from './f16';
import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, type IqGrid } from './iq-grids';

const fround = Math.fround;
/** ggml's IQ1S_DELTA (and IQ1M_DELTA). */
export const IQ1_DELTA = 0.125;

/** Element j of grid entry `index`. */
export function gridValue(grid: IqGrid, index: number, j: number): number {
  const entry = (grid.packed[index >> 1] >>> (16 * (index & 1))) & 0xffff;
  return grid.levels[(entry >>> (grid.bits * j)) & ((1 << grid.bits) - 1)];
}

/** The 8 sign bits of a 7-bit sign field: the eighth makes the count of set bits even. */
export function signByte(s7: number): number {
  let parity = s7;
  parity ^= parity >> 4;
  parity ^= parity >> 2;
  parity ^= parity >> 1;
  return s7 | ((parity & 1) << 7);
}

const u16 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8);
const u32 = (b: Uint8Array, o: number) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;

/** n elements of grid entry `index`, scaled by db, signed by bits 0.. of `signs` (from bit `first`), to dst at y. */
function putSigned(dst: Float32Array, y: number, grid: IqGrid, index: number, n: number, db: number, signs: number, first: number): void {
  for (let j = 0; j < n; j++) {
    const v = fround(db * gridValue(grid, index, j));
    dst[y + j] = (signs >> (first + j)) & 1 ? -v : v;
  }
}

export function dequantizeIQ2_XXS(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 66;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const q = o + 2 + 8 * ib;
      const aux = u32(src, q + 4);
      const db = fround(fround(d * (0.5 + (aux >>> 28))) * 0.25);
      for (let l = 0; l < 4; l++) {
        putSigned(dst, b * 256 + 32 * ib + 8 * l, IQ2XXS_GRID, src[q + l], 8, db, signByte((aux >>> (7 * l)) & 127), 0);
      }
    }
  }
}

export function dequantizeIQ2_XS(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 74;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const sc = src[o + 66 + ib];
      for (let l = 0; l < 4; l++) {
        const db = fround(fround(d * (0.5 + ((sc >> (4 * (l >> 1))) & 0xf))) * 0.25);
        const q = u16(src, o + 2 + 2 * (4 * ib + l));
        putSigned(dst, b * 256 + 32 * ib + 8 * l, IQ2XS_GRID, q & 511, 8, db, signByte(q >> 9), 0);
      }
    }
  }
}

export function dequantizeIQ2_S(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 82;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const sc = src[o + 74 + ib];
      const qh = src[o + 66 + ib];
      for (let l = 0; l < 4; l++) {
        const db = fround(fround(d * (0.5 + ((sc >> (4 * (l >> 1))) & 0xf))) * 0.25);
        const index = src[o + 2 + 4 * ib + l] | ((qh << (8 - 2 * l)) & 0x300);
        putSigned(dst, b * 256 + 32 * ib + 8 * l, IQ2S_GRID, index, 8, db, src[o + 34 + 4 * ib + l], 0);
      }
    }
  }
}

export function dequantizeIQ3_XXS(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 98;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const aux = u32(src, o + 66 + 4 * ib);
      const db = fround(fround(d * (0.5 + (aux >>> 28))) * 0.5);
      for (let l = 0; l < 4; l++) {
        const signs = signByte((aux >>> (7 * l)) & 127);
        const y = b * 256 + 32 * ib + 8 * l;
        const q = o + 2 + 8 * ib + 2 * l;
        putSigned(dst, y, IQ3XXS_GRID, src[q], 4, db, signs, 0);
        putSigned(dst, y + 4, IQ3XXS_GRID, src[q + 1], 4, db, signs, 4);
      }
    }
  }
}

export function dequantizeIQ3_S(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 110;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const db = fround(d * (1 + 2 * ((src[o + 106 + (ib >> 1)] >> (4 * (ib & 1))) & 0xf)));
      const qh = src[o + 66 + ib];
      for (let l = 0; l < 4; l++) {
        const signs = src[o + 74 + 4 * ib + l];
        const y = b * 256 + 32 * ib + 8 * l;
        const q = o + 2 + 8 * ib + 2 * l;
        putSigned(dst, y, IQ3S_GRID, src[q] | ((qh << (8 - 2 * l)) & 256), 4, db, signs, 0);
        putSigned(dst, y + 4, IQ3S_GRID, src[q + 1] | ((qh << (7 - 2 * l)) & 256), 4, db, signs, 4);
      }
    }
  }
}

/** 8 elements of IQ1 grid entry `index`: dl * (grid + delta). */
function putShifted(dst: Float32Array, y: number, index: number, dl: number, delta: number): void {
  for (let j = 0; j < 8; j++) dst[y + j] = fround(dl * (gridValue(IQ1S_GRID, index, j) + delta));
}

export function dequantizeIQ1_S(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 50;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const qh = u16(src, o + 34 + 2 * ib);
      const dl = fround(d * (2 * ((qh >> 12) & 7) + 1));
      const delta = qh & 0x8000 ? -IQ1_DELTA : IQ1_DELTA;
      for (let l = 0; l < 4; l++) {
        putShifted(dst, b * 256 + 32 * ib + 8 * l, src[o + 2 + 4 * ib + l] | (((qh >> (3 * l)) & 7) << 8), dl, delta);
      }
    }
  }
}

/** IQ1_M's f16 d: the top nibbles of its four scale u16s, lowest first. */
export function iq1mScaleBits(src: Uint8Array, o: number): number {
  return (src[o + 49] >> 4) | (src[o + 51] & 0xf0) | ((src[o + 53] & 0xf0) << 4) | ((src[o + 55] & 0xf0) << 8);
}

export function dequantizeIQ1_M(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 56;
    const d = f16BitsToF32(iq1mScaleBits(src, o));
    for (let ib = 0; ib < 8; ib++) {
      const sc = u16(src, o + 48 + 2 * (ib >> 1)) >> (6 * (ib & 1));
      for (let l = 0; l < 4; l++) {
        const qh = src[o + 32 + 2 * ib + (l >> 1)] >> (4 * (l & 1));
        const dl = fround(d * (2 * ((sc >> (3 * (l >> 1))) & 7) + 1));
        const delta = qh & 8 ? -IQ1_DELTA : IQ1_DELTA;
        putShifted(dst, b * 256 + 32 * ib + 8 * l, src[o + 4 * ib + l] | ((qh & 7) << 8), dl, delta);
      }
    }
  }
}
