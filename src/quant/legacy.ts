// The "legacy" 32-element block formats: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0.
//
// Decoding reproduces llama.cpp's dequantize_row_* bit for bit: the integer
// part is computed in int, converted to f32, then multiplied (and, for the
// _1 types, the min added) with an f32 rounding after each operation.
// Encoding follows llama.cpp's quantize_row_*_ref formulas.
//
// Layouts (little-endian, per block of 32):
//   Q4_0: f16 d, 16 B nibbles                  y = (q - 8) * d
//   Q4_1: f16 d, f16 m, 16 B nibbles           y = q * d + m
//   Q5_0: f16 d, u32 high bits, 16 B nibbles   y = (q - 16) * d
//   Q5_1: f16 d, f16 m, u32 high bits, 16 B    y = q * d + m
//   Q8_0: f16 d, 32 x i8                       y = q * d
// Byte j of the nibbles holds element j (low nibble) and element j + 16
// (high nibble); bit j of the high-bit word is the fifth bit of element j.

import { readF16, writeF16 } from './f16';

const fround = Math.fround;
const QK = 32;

export function dequantizeQ4_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 18;
    const d = readF16(src, o);
    const y = b * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = fround(((q & 0x0f) - 8) * d);
      dst[y + j + 16] = fround(((q >> 4) - 8) * d);
    }
  }
}

export function dequantizeQ4_1(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 20;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const y = b * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 4 + j];
      dst[y + j] = fround(fround((q & 0x0f) * d) + m);
      dst[y + j + 16] = fround(fround((q >> 4) * d) + m);
    }
  }
}

function readU32(src: Uint8Array, o: number): number {
  return (src[o] | (src[o + 1] << 8) | (src[o + 2] << 16) | (src[o + 3] << 24)) >>> 0;
}

function writeU32(dst: Uint8Array, o: number, v: number): void {
  dst[o] = v & 0xff;
  dst[o + 1] = (v >>> 8) & 0xff;
  dst[o + 2] = (v >>> 16) & 0xff;
  dst[o + 3] = (v >>> 24) & 0xff;
}

export function dequantizeQ5_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 22;
    const d = readF16(src, o);
    const qh = readU32(src, o + 2);
    const y = b * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 6 + j];
      const hi0 = ((qh >>> j) & 1) << 4;
      const hi1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[y + j] = fround((((q & 0x0f) | hi0) - 16) * d);
      dst[y + j + 16] = fround((((q >> 4) | hi1) - 16) * d);
    }
  }
}

export function dequantizeQ5_1(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 24;
    const d = readF16(src, o);
    const m = readF16(src, o + 2);
    const qh = readU32(src, o + 4);
    const y = b * QK;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 8 + j];
      const hi0 = ((qh >>> j) & 1) << 4;
      const hi1 = ((qh >>> (j + 16)) & 1) << 4;
      dst[y + j] = fround(fround(((q & 0x0f) | hi0) * d) + m);
      dst[y + j + 16] = fround(fround(((q >> 4) | hi1) * d) + m);
    }
  }
}

export function dequantizeQ8_0(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 34;
    const d = readF16(src, o);
    const y = b * QK;
    for (let j = 0; j < QK; j++) {
      const q = (src[o + 2 + j] << 24) >> 24; // sign-extend the int8
      dst[y + j] = fround(q * d);
    }
  }
}

// ---------------------------------------------------------------------------
// Encoding

/** C's roundf: halves go away from zero (Math.round sends -2.5 to -2). */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** C's (int8_t) cast of a float in range: truncation toward zero. */
const truncate = Math.trunc;

/** The element of largest magnitude, keeping its sign (first one on ties). */
function signedAbsMax(x: Float32Array, start: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < QK; j++) {
    const v = x[start + j];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(x: Float32Array, start: number): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (let j = 0; j < QK; j++) {
    const v = x[start + j];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}

export function quantizeQ4_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK;
    const o = b * 18;
    // d = max / -8 makes the largest-magnitude element land exactly on -8.
    const d = fround(signedAbsMax(x, s) / -8);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, truncate(fround(fround(x[s + j] * id) + 8.5)));
      const q1 = Math.min(15, truncate(fround(fround(x[s + j + 16] * id) + 8.5)));
      dst[o + 2 + j] = q0 | (q1 << 4);
    }
  }
}

export function quantizeQ4_1(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK;
    const o = b * 20;
    const { min, max } = minMax(x, s);
    const d = fround((max - min) / 15);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(15, truncate(fround(fround(fround(x[s + j] - min) * id) + 0.5)));
      const q1 = Math.min(15, truncate(fround(fround(fround(x[s + j + 16] - min) * id) + 0.5)));
      dst[o + 4 + j] = q0 | (q1 << 4);
    }
  }
}

export function quantizeQ5_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK;
    const o = b * 22;
    const d = fround(signedAbsMax(x, s) / -16);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, truncate(fround(fround(x[s + j] * id) + 16.5)));
      const q1 = Math.min(31, truncate(fround(fround(x[s + j + 16] * id) + 16.5)));
      dst[o + 6 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    writeU32(dst, o + 2, qh >>> 0);
  }
}

export function quantizeQ5_1(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK;
    const o = b * 24;
    const { min, max } = minMax(x, s);
    const d = fround((max - min) / 31);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    writeF16(dst, o + 2, min);
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(31, truncate(fround(fround(fround(x[s + j] - min) * id) + 0.5)));
      const q1 = Math.min(31, truncate(fround(fround(fround(x[s + j + 16] - min) * id) + 0.5)));
      dst[o + 8 + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    writeU32(dst, o + 4, qh >>> 0);
  }
}

export function quantizeQ8_0(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK;
    const o = b * 34;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[s + j]));
    const d = fround(amax / 127);
    const id = d ? fround(1 / d) : 0;
    writeF16(dst, o, d);
    for (let j = 0; j < QK; j++) dst[o + 2 + j] = roundHalfAway(fround(x[s + j] * id)) & 0xff;
  }
}
