// Encoding of the K-quant super-block formats (layouts in kquants.ts).
//
// Each 256-element block is fitted in two levels, like llama.cpp's
// reference quantizers: every sub-block (16 or 32 values) gets its own best
// scale (and min), those are quantized to 4, 6 or 8 bits against one f16
// super-scale, and finally every value is re-quantized against the scale the
// decoder will actually see, so rounding of the scales costs little.

import { writeF16, readF16 } from './f16';
import { fitAffine, fitSymmetric, nearestInt } from './fit';
import { QK_K, packScaleMinK4, unpackScaleMinK4, unpackScaleQ3K } from './kquants';

const fround = Math.fround;

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Packs 2-bit levels (0..3) the Q2_K/Q3_K way: byte l of each 32-byte group holds elements l, l+32, l+64, l+96. */
function pack2Bit(levels: Uint8Array, dst: Uint8Array, offset: number): void {
  for (let half = 0; half < 2; half++) {
    const base = half * 128;
    for (let l = 0; l < 32; l++) {
      dst[offset + half * 32 + l] =
        (levels[base + l] & 3) |
        ((levels[base + l + 32] & 3) << 2) |
        ((levels[base + l + 64] & 3) << 4) |
        ((levels[base + l + 96] & 3) << 6);
    }
  }
}

/**
 * Affine sub-block fits for one super-block: returns per-sub-block scales and
 * mins (both >= 0) and their maxima.
 */
function fitAffineSubBlocks(x: Float32Array, start: number, subSize: number, nmax: number) {
  const count = QK_K / subSize;
  const scales = new Float64Array(count);
  const mins = new Float64Array(count);
  const scratch = new Uint8Array(subSize);
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < count; j++) {
    const fit = fitAffine(x, start + j * subSize, subSize, nmax, scratch);
    scales[j] = fit.scale;
    mins[j] = fit.min;
    maxScale = Math.max(maxScale, fit.scale);
    maxMin = Math.max(maxMin, fit.min);
  }
  return { scales, mins, maxScale, maxMin };
}

/**
 * Quantizes non-negative `values` to integers in [0, qmax] against `step`,
 * the super-scale as the decoder will read it (already rounded to f16).
 */
function quantizeScales(values: Float64Array, step: number, qmax: number): Uint8Array {
  const out = new Uint8Array(values.length);
  if (step > 0) for (let j = 0; j < values.length; j++) out[j] = clamp(nearestInt(values[j] / step), 0, qmax);
  return out;
}

/** Re-quantizes values of one sub-block against the decoded scale d and min m: level = round((x + m) / d). */
function requantizeAffine(x: Float32Array, start: number, n: number, d: number, m: number, nmax: number, levels: Uint8Array, at: number): void {
  for (let i = 0; i < n; i++) {
    levels[at + i] = d ? clamp(nearestInt(fround(x[start + i] + m) / d), 0, nmax) : 0;
  }
}

export function quantizeQ2_K(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const levels = new Uint8Array(QK_K);
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK_K;
    const o = b * 84;
    const fit = fitAffineSubBlocks(x, s, 16, 3);
    writeF16(dst, o + 80, fit.maxScale / 15);
    writeF16(dst, o + 82, fit.maxMin / 15);
    const d = readF16(dst, o + 80);
    const dmin = readF16(dst, o + 82);
    const ls = quantizeScales(fit.scales, d, 15);
    const lm = quantizeScales(fit.mins, dmin, 15);
    for (let j = 0; j < 16; j++) dst[o + j] = ls[j] | (lm[j] << 4);
    for (let j = 0; j < 16; j++) {
      requantizeAffine(x, s + 16 * j, 16, fround(d * ls[j]), fround(dmin * lm[j]), 3, levels, 16 * j);
    }
    pack2Bit(levels, dst, o + 16);
  }
}

function fitAndPackScaleMinK4(x: Float32Array, s: number, dst: Uint8Array, o: number, nmax: number, levels: Uint8Array): void {
  const fit = fitAffineSubBlocks(x, s, 32, nmax);
  writeF16(dst, o, fit.maxScale / 63);
  writeF16(dst, o + 2, fit.maxMin / 63);
  const d = readF16(dst, o);
  const dmin = readF16(dst, o + 2);
  packScaleMinK4(dst, o + 4, quantizeScales(fit.scales, d, 63), quantizeScales(fit.mins, dmin, 63));
  for (let j = 0; j < 8; j++) {
    const sm = unpackScaleMinK4(dst, o + 4, j);
    requantizeAffine(x, s + 32 * j, 32, fround(d * sm.scale), fround(dmin * sm.min), nmax, levels, 32 * j);
  }
}

export function quantizeQ4_K(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const levels = new Uint8Array(QK_K);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 144;
    fitAndPackScaleMinK4(x, b * QK_K, dst, o, 15, levels);
    for (let pair = 0; pair < 4; pair++) {
      for (let l = 0; l < 32; l++) {
        dst[o + 16 + pair * 32 + l] = levels[64 * pair + l] | (levels[64 * pair + 32 + l] << 4);
      }
    }
  }
}

export function quantizeQ5_K(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const levels = new Uint8Array(QK_K);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 176;
    fitAndPackScaleMinK4(x, b * QK_K, dst, o, 31, levels);
    dst.fill(0, o + 16, o + 48);
    for (let pair = 0; pair < 4; pair++) {
      for (let l = 0; l < 32; l++) {
        const l1 = levels[64 * pair + l];
        const l2 = levels[64 * pair + 32 + l];
        dst[o + 48 + pair * 32 + l] = (l1 & 0x0f) | ((l2 & 0x0f) << 4);
        dst[o + 16 + l] |= ((l1 >> 4) << (2 * pair)) | ((l2 >> 4) << (2 * pair + 1));
      }
    }
  }
}

/** Signed sub-block scales for one super-block, and the one of largest magnitude (with its sign). */
function fitSymmetricSubBlocks(x: Float32Array, start: number, nmax: number) {
  const scales = new Float64Array(16);
  const scratch = new Uint8Array(16);
  let extreme = 0;
  for (let j = 0; j < 16; j++) {
    scales[j] = fitSymmetric(x, start + 16 * j, 16, nmax, scratch);
    if (Math.abs(scales[j]) > Math.abs(extreme)) extreme = scales[j];
  }
  return { scales, extreme };
}

export function quantizeQ3_K(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const levels = new Uint8Array(QK_K);
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK_K;
    const o = b * 110;
    dst.fill(0, o, o + 110);
    const { scales, extreme } = fitSymmetricSubBlocks(x, s, 4);
    // The super-scale maps the extreme sub-block scale to -32, the end of the 6-bit signed range.
    writeF16(dst, o + 108, extreme / -32);
    const dAll = readF16(dst, o + 108);
    for (let j = 0; j < 16; j++) {
      const q = dAll ? clamp(nearestInt(scales[j] / dAll), -32, 31) + 32 : 32;
      if (j < 8) dst[o + 96 + j] |= q & 0x0f;
      else dst[o + 96 + j - 8] |= (q & 0x0f) << 4;
      dst[o + 96 + 8 + (j % 4)] |= (q >> 4) << (2 * (j >> 2));
    }
    for (let j = 0; j < 16; j++) {
      const d = fround(dAll * (unpackScaleQ3K(dst, o + 96, j) - 32));
      for (let i = 0; i < 16; i++) {
        levels[16 * j + i] = d ? clamp(nearestInt(x[s + 16 * j + i] / d), -4, 3) + 4 : 4;
      }
    }
    // Bit 2 of each level goes to the hmask: element e -> byte e % 32, bit e / 32.
    for (let e = 0; e < QK_K; e++) {
      if (levels[e] > 3) dst[o + (e % 32)] |= 1 << (e >> 5);
    }
    pack2Bit(levels, dst, o + 32);
  }
}

export function quantizeQ6_K(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const levels = new Uint8Array(QK_K);
  for (let b = 0; b < nBlocks; b++) {
    const s = b * QK_K;
    const o = b * 210;
    const { scales, extreme } = fitSymmetricSubBlocks(x, s, 32);
    writeF16(dst, o + 208, extreme / -128);
    const d = readF16(dst, o + 208);
    for (let j = 0; j < 16; j++) {
      const q = d ? clamp(nearestInt(scales[j] / d), -128, 127) : 0;
      dst[o + 192 + j] = q & 0xff;
    }
    for (let j = 0; j < 16; j++) {
      const dl = fround(d * ((dst[o + 192 + j] << 24) >> 24));
      for (let i = 0; i < 16; i++) {
        levels[16 * j + i] = dl ? clamp(nearestInt(x[s + 16 * j + i] / dl), -32, 31) + 32 : 32;
      }
    }
    for (let half = 0; half < 2; half++) {
      const base = half * 128;
      const ql = o + half * 64;
      const qh = o + 128 + half * 32;
      for (let l = 0; l < 32; l++) {
        const l1 = levels[base + l];
        const l2 = levels[base + l + 32];
        const l3 = levels[base + l + 64];
        const l4 = levels[base + l + 96];
        dst[ql + l] = (l1 & 0x0f) | ((l3 & 0x0f) << 4);
        dst[ql + l + 32] = (l2 & 0x0f) | ((l4 & 0x0f) << 4);
        dst[qh + l] = (l1 >> 4) | ((l2 >> 4) << 2) | ((l3 >> 4) << 4) | ((l4 >> 4) << 6);
      }
    }
  }
}
