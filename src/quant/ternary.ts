// The ternary formats TQ1_0 and TQ2_0 (BitNet-style weights in {-1, 0, 1}
// times one f16 scale per 256). Decoding matches llama.cpp's
// dequantize_row_tq1_0 / _tq2_0 bit for bit: y = (q - 1) * d.
//
//   TQ2_0  66 B: qs[64] @0, f16 d @64. Element 128h + 32l + m is bits 2l..2l+1
//          of qs[32h + m].
//   TQ1_0  54 B: qs[48] @0, qh[4] @48, f16 d @52. A byte holds five base-3
//          digits as a fixed-point fraction: digit n of byte b is
//          ((b * 3^n mod 256) * 3) >> 8. Elements 0..159: digit n of qs[m]
//          is element 32n + m (m < 32); 160..239: digit n of qs[32 + m] is
//          160 + 16n + m; 240..255: digit n (< 4) of qh[j] is 240 + 4n + j.

import { f16BitsToF32, f32ToF16Bits, readF16, writeF16 } from './f16';
import { nearestInt } from './fit';

const fround = Math.fround;

/** Digit n (0..4) of a TQ1_0 byte: 0, 1 or 2. */
export function tq1Digit(byte: number, n: number): number {
  return (((byte * 3 ** n) & 0xff) * 3) >> 8;
}

/** Where element e (0..255) of a TQ1_0 block lives: its byte offset in the block and digit. */
export function tq1Place(e: number): { byte: number; digit: number } {
  if (e < 160) return { byte: e & 31, digit: e >> 5 };
  if (e < 240) return { byte: 32 + ((e - 160) & 15), digit: (e - 160) >> 4 };
  return { byte: 48 + ((e - 240) & 3), digit: (e - 240) >> 2 };
}

export function dequantizeTQ1_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 54;
    const d = readF16(src, o + 52);
    for (let e = 0; e < 256; e++) {
      const { byte, digit } = tq1Place(e);
      dst[b * 256 + e] = fround((tq1Digit(src[o + byte], digit) - 1) * d);
    }
  }
}

export function dequantizeTQ2_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 66;
    const d = readF16(src, o + 64);
    for (let e = 0; e < 256; e++) {
      const q = (src[o + 32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
      dst[b * 256 + e] = fround((q - 1) * d);
    }
  }
}

/** Ternary digits (0, 1, 2) of x[start..start+256) against the scale d: round(x / d) + 1. */
function trits(x: Float32Array, start: number, d: number, out: Uint8Array): void {
  for (let e = 0; e < 256; e++) out[e] = d ? Math.min(2, Math.max(0, nearestInt(x[start + e] / d) + 1)) : 1;
}

/**
 * The block's scale: of the candidates amax * k / 16 (k = 4..16, rounded to
 * f16), the one whose ternary rounding leaves the least squared error
 * (llama.cpp's reference takes amax itself, which zeroes most of a
 * Gaussian block).
 */
function ternaryScale(x: Float32Array, start: number): number {
  let amax = 0;
  for (let i = start; i < start + 256; i++) amax = Math.max(amax, Math.abs(x[i]));
  let best = amax;
  let bestErr = Infinity;
  for (let k = 4; k <= 16 && amax > 0; k++) {
    const d = f16BitsToF32(f32ToF16Bits((amax * k) / 16));
    let err = 0;
    for (let i = start; i < start + 256; i++) err += (x[i] - d * Math.min(1, Math.max(-1, nearestInt(x[i] / d)))) ** 2;
    if (err < bestErr) {
      bestErr = err;
      best = d;
    }
  }
  return best;
}

export function quantizeTQ2_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const t = new Uint8Array(256);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 66;
    writeF16(dst, o + 64, ternaryScale(x, b * 256));
    trits(x, b * 256, readF16(dst, o + 64), t);
    dst.fill(0, o, o + 64);
    for (let e = 0; e < 256; e++) dst[o + 32 * (e >> 7) + (e & 31)] |= t[e] << (2 * ((e >> 5) & 3));
  }
}

export function quantizeTQ1_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const t = new Uint8Array(256);
  const value = new Uint16Array(52);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 54;
    writeF16(dst, o + 52, ternaryScale(x, b * 256));
    trits(x, b * 256, readF16(dst, o + 52), t);
    // Each byte's digits as a base-3 number, digit 0 the most significant (5 digits; qh bytes have 4 and a zero).
    value.fill(0);
    for (let e = 0; e < 256; e++) {
      const { byte, digit } = tq1Place(e);
      value[byte] += t[e] * 3 ** (4 - digit);
    }
    // The fraction value / 243 rounded up to 8 bits: the digit extraction above reads it back exactly.
    for (let i = 0; i < 52; i++) dst[o + i] = Math.ceil((value[i] * 256) / 243);
  }
}
