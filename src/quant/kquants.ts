// Decoding of the K-quant super-block formats (256 elements per block):
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K. Bit for bit what llama.cpp's
// dequantize_row_q*_K produce: integer parts in int, then f32 products and
// differences rounded one operation at a time, in C's left-to-right order.
//
// Byte layouts (offsets inside one block):
//   Q2_K  84 B: scales[16] @0 (low nibble scale, high nibble min), qs[64] @16, f16 d @80, f16 dmin @82
//   Q3_K 110 B: hmask[32] @0, qs[64] @32, scales[12] @96 (16 x 6-bit, signed by -32), f16 d @108
//   Q4_K 144 B: f16 d @0, f16 dmin @2, scales[12] @4 (8 x 6-bit scale + 8 x 6-bit min), qs[128] @16
//   Q5_K 176 B: f16 d @0, f16 dmin @2, scales[12] @4, qh[32] @16, qs[128] @48
//   Q6_K 210 B: ql[128] @0, qh[64] @128, scales[16] (int8) @192, f16 d @208

import { readF16 } from './f16';

const fround = Math.fround;
export const QK_K = 256;

/** Unpacks the 6-bit scale and min of sub-block `j` (0..7) of a Q4_K/Q5_K block (llama.cpp's get_scale_min_k4). */
export function unpackScaleMinK4(src: Uint8Array, scalesOffset: number, j: number): { scale: number; min: number } {
  const q = (i: number) => src[scalesOffset + i];
  if (j < 4) return { scale: q(j) & 63, min: q(j + 4) & 63 };
  return {
    scale: (q(j + 4) & 0x0f) | ((q(j - 4) >> 6) << 4),
    min: (q(j + 4) >> 4) | ((q(j) >> 6) << 4),
  };
}

/** The inverse of unpackScaleMinK4 for all eight sub-blocks: 6-bit values in, 12 bytes out. */
export function packScaleMinK4(dst: Uint8Array, scalesOffset: number, scales: ArrayLike<number>, mins: ArrayLike<number>): void {
  for (let i = 0; i < 12; i++) dst[scalesOffset + i] = 0;
  for (let j = 0; j < 8; j++) {
    const ls = scales[j];
    const lm = mins[j];
    if (j < 4) {
      dst[scalesOffset + j] |= ls;
      dst[scalesOffset + j + 4] |= lm;
    } else {
      dst[scalesOffset + j + 4] = (ls & 0x0f) | ((lm & 0x0f) << 4);
      dst[scalesOffset + j - 4] |= (ls >> 4) << 6;
      dst[scalesOffset + j] |= (lm >> 4) << 6;
    }
  }
}

/** Unpacks the 6-bit scale of sub-block `j` (0..15) of a Q3_K block, before the -32 offset. */
export function unpackScaleQ3K(src: Uint8Array, scalesOffset: number, j: number): number {
  const low = j < 8 ? src[scalesOffset + j] & 0x0f : src[scalesOffset + j - 8] >> 4;
  const high = (src[scalesOffset + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
  return low | (high << 4);
}

export function dequantizeQ2_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 84;
    const d = readF16(src, o + 80);
    const dmin = readF16(src, o + 82);
    let y = b * QK_K;
    let is = 0;
    for (let half = 0; half < 2; half++) {
      const q = o + 16 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const sc = src[o + is++];
          const dl = fround(d * (sc & 0x0f));
          const ml = fround(dmin * (sc >> 4));
          for (let l = 0; l < 16; l++) {
            const v = (src[q + part * 16 + l] >> shift) & 3;
            dst[y++] = fround(fround(dl * v) - ml);
          }
        }
      }
    }
  }
}

export function dequantizeQ3_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 110;
    const dAll = readF16(src, o + 108);
    let y = b * QK_K;
    let is = 0;
    let mask = 1;
    for (let half = 0; half < 2; half++) {
      const q = o + 32 + half * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let part = 0; part < 2; part++) {
          const dl = fround(dAll * (unpackScaleQ3K(src, o + 96, is++) - 32));
          for (let l = 0; l < 16; l++) {
            const i = part * 16 + l;
            const low = (src[q + i] >> shift) & 3;
            const v = low - (src[o + i] & mask ? 0 : 4);
            dst[y++] = fround(dl * v);
          }
        }
        mask <<= 1;
      }
    }
  }
}

export function dequantizeQ4_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 144;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    let y = b * QK_K;
    for (let pair = 0; pair < 4; pair++) {
      const q = o + 16 + pair * 32;
      const s1 = unpackScaleMinK4(src, o + 4, 2 * pair);
      const s2 = unpackScaleMinK4(src, o + 4, 2 * pair + 1);
      const d1 = fround(d * s1.scale);
      const m1 = fround(dmin * s1.min);
      const d2 = fround(d * s2.scale);
      const m2 = fround(dmin * s2.min);
      for (let l = 0; l < 32; l++) dst[y++] = fround(fround(d1 * (src[q + l] & 0x0f)) - m1);
      for (let l = 0; l < 32; l++) dst[y++] = fround(fround(d2 * (src[q + l] >> 4)) - m2);
    }
  }
}

export function dequantizeQ5_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 176;
    const d = readF16(src, o);
    const dmin = readF16(src, o + 2);
    const qh = o + 16;
    let y = b * QK_K;
    for (let pair = 0; pair < 4; pair++) {
      const ql = o + 48 + pair * 32;
      const u1 = 1 << (2 * pair);
      const u2 = 2 << (2 * pair);
      const s1 = unpackScaleMinK4(src, o + 4, 2 * pair);
      const s2 = unpackScaleMinK4(src, o + 4, 2 * pair + 1);
      const d1 = fround(d * s1.scale);
      const m1 = fround(dmin * s1.min);
      const d2 = fround(d * s2.scale);
      const m2 = fround(dmin * s2.min);
      for (let l = 0; l < 32; l++) {
        const v = (src[ql + l] & 0x0f) + (src[qh + l] & u1 ? 16 : 0);
        dst[y++] = fround(fround(d1 * v) - m1);
      }
      for (let l = 0; l < 32; l++) {
        const v = (src[ql + l] >> 4) + (src[qh + l] & u2 ? 16 : 0);
        dst[y++] = fround(fround(d2 * v) - m2);
      }
    }
  }
}

export function dequantizeQ6_K(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 210;
    const d = readF16(src, o + 208);
    for (let half = 0; half < 2; half++) {
      const ql = o + half * 64;
      const qh = o + 128 + half * 32;
      const sc = o + 192 + half * 8;
      const y = b * QK_K + half * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        dst[y + l] = fround(fround(d * int8(src[sc + is])) * q1);
        dst[y + l + 32] = fround(fround(d * int8(src[sc + is + 2])) * q2);
        dst[y + l + 64] = fround(fround(d * int8(src[sc + is + 4])) * q3);
        dst[y + l + 96] = fround(fround(d * int8(src[sc + is + 6])) * q4);
      }
    }
  }
}

function int8(byte: number): number {
  return (byte << 24) >> 24;
}
