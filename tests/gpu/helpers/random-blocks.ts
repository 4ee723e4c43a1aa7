// Adversarial weight bytes for decoder exactness tests: any byte pattern is a
// valid block of a GGUF quant type, except f16 scale fields holding NaN or
// infinity (and NaN/inf elements of the float types), which we steer clear
// of. Scale fields cycle through the extremes: the largest half (65504), the
// smallest subnormals, signed zeros.

import { GGML_TYPES, GgmlType } from '../../../src/gguf/types';
import { rng } from './reference';

/** The lattice, FP4 and ternary types (issue 12): the generic dot32, fewer matmul cases. */
export const LATTICE_FP4_TERNARY_TYPES = [
  GgmlType.IQ2_XXS,
  GgmlType.IQ2_XS,
  GgmlType.IQ2_S,
  GgmlType.IQ3_XXS,
  GgmlType.IQ3_S,
  GgmlType.IQ1_S,
  GgmlType.IQ1_M,
  GgmlType.MXFP4,
  GgmlType.NVFP4,
  GgmlType.TQ1_0,
  GgmlType.TQ2_0,
];

/** Every type with a GPU decode piece (WebClaw's GPU-supported types). */
export const DECODE_TYPES = [
  GgmlType.F32,
  GgmlType.F16,
  GgmlType.BF16,
  GgmlType.Q4_0,
  GgmlType.Q4_1,
  GgmlType.Q5_0,
  GgmlType.Q5_1,
  GgmlType.Q8_0,
  GgmlType.Q2_K,
  GgmlType.Q3_K,
  GgmlType.Q4_K,
  GgmlType.Q5_K,
  GgmlType.Q6_K,
  GgmlType.IQ4_NL,
  GgmlType.IQ4_XS,
  ...LATTICE_FP4_TERNARY_TYPES,
];

/** Byte offsets of the f16 scale (and min) fields inside one block. */
const SCALE_FIELDS: Partial<Record<GgmlType, readonly number[]>> = {
  [GgmlType.Q4_0]: [0],
  [GgmlType.Q4_1]: [0, 2],
  [GgmlType.Q5_0]: [0],
  [GgmlType.Q5_1]: [0, 2],
  [GgmlType.Q8_0]: [0],
  [GgmlType.Q2_K]: [80, 82],
  [GgmlType.Q3_K]: [108],
  [GgmlType.Q4_K]: [0, 2],
  [GgmlType.Q5_K]: [0, 2],
  [GgmlType.Q6_K]: [208],
  [GgmlType.IQ4_NL]: [0],
  [GgmlType.IQ4_XS]: [0],
  [GgmlType.IQ2_XXS]: [0],
  [GgmlType.IQ2_XS]: [0],
  [GgmlType.IQ2_S]: [0],
  [GgmlType.IQ3_XXS]: [0],
  [GgmlType.IQ3_S]: [0],
  [GgmlType.IQ1_S]: [0],
  [GgmlType.TQ1_0]: [52],
  [GgmlType.TQ2_0]: [64],
  // Every byte of NVFP4's UE4M3 scales decodes to a finite normal value.
  [GgmlType.NVFP4]: [],
};

/** Half bit patterns worth hitting on purpose: ±65504, ±0, subnormals, the smallest normal, 1. */
export const SPECIAL_HALVES = [0x7bff, 0xfbff, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x83ff, 0x0400, 0x3c00] as const;

function isHalfNonFinite(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}

/**
 * `nBlocks` blocks of `type`: random bytes everywhere, with the scale fields
 * of block b set to SPECIAL_HALVES[b] for the first blocks (field by field
 * shifted, so d and dmin differ) and random finite halves after; every
 * `zeroEvery`-th block is all zeros. For F16/BF16/F32, random finite elements
 * with specials mixed in.
 */
export function randomBlocks(type: GgmlType, nBlocks: number, seed: number, zeroEvery = 7): Uint8Array {
  const info = GGML_TYPES.get(type);
  if (!info) throw new Error(`unknown type ${type}`);
  const next = rng(seed);
  const bytes = new Uint8Array(nBlocks * info.blockBytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
  const randomHalf = () => {
    let h: number;
    do h = Math.floor(next() * 65536);
    while (isHalfNonFinite(h));
    return h;
  };
  const specialOr = (i: number) => (i < SPECIAL_HALVES.length ? SPECIAL_HALVES[i] : randomHalf());

  if (type === GgmlType.F16 || type === GgmlType.BF16) {
    const view = new DataView(bytes.buffer);
    const expMask = type === GgmlType.F16 ? 0x7c00 : 0x7f80;
    for (let i = 0; i < nBlocks; i++) {
      let h = view.getUint16(2 * i, true);
      if ((h & expMask) === expMask) h &= ~0x4000; // drop the top exponent bit: finite
      if (i % 5 === 0) h = i % 10 === 0 ? 0x8000 : 0x0001; // signed zero, smallest subnormal
      view.setUint16(2 * i, h, true);
    }
    return bytes;
  }
  if (type === GgmlType.F32) {
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < nBlocks; i++) {
      const w = view.getUint32(4 * i, true);
      if ((w & 0x7f800000) === 0x7f800000) view.setUint32(4 * i, w & ~0x40000000, true);
    }
    return bytes;
  }

  if (type === GgmlType.MXFP4 || type === GgmlType.IQ1_M) return boundScales(type, bytes, nBlocks, next, specialOr, zeroEvery);
  const fields = SCALE_FIELDS[type];
  if (!fields) throw new Error(`no scale layout for ${GgmlType[type]}`);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * info.blockBytes;
    if (zeroEvery > 0 && b % zeroEvery === zeroEvery - 1) {
      bytes.fill(0, o, o + info.blockBytes);
      continue;
    }
    fields.forEach((field, k) => {
      const special = b + k * 3;
      const h = specialOr(special);
      bytes[o + field] = h & 0xff;
      bytes[o + field + 1] = h >> 8;
    });
  }
  return bytes;
}

/**
 * MXFP4: E8M0 exponents in 20..230 (scales 2^-108 .. 2^102), the ends of
 * that range in the first blocks: e = 0, 1 give f32 subnormal scales and
 * small ones subnormal products with the activations of the matvec tests,
 * which GPUs may flush to zero; from 253 on 12 * 2^(e - 128) is infinite,
 * and 230 leaves room for the sums of a row's products. IQ1_M: its f16 d, spread over the top nibbles of its four scale
 * u16s, finite and the special halves first.
 */
function boundScales(type: GgmlType, bytes: Uint8Array, nBlocks: number, next: () => number, specialOr: (i: number) => number, zeroEvery: number): Uint8Array {
  const info = GGML_TYPES.get(type)!;
  for (let b = 0; b < nBlocks; b++) {
    const o = b * info.blockBytes;
    if (zeroEvery > 0 && b % zeroEvery === zeroEvery - 1) {
      bytes.fill(0, o, o + info.blockBytes);
    } else if (type === GgmlType.MXFP4) {
      bytes[o] = b === 0 ? 20 : b === 1 ? 230 : 20 + Math.floor(next() * 211);
    } else {
      const h = specialOr(b);
      for (let i = 0; i < 4; i++) bytes[o + 49 + 2 * i] = (bytes[o + 49 + 2 * i] & 0x0f) | (((h >> (4 * i)) & 0xf) << 4);
    }
  }
  return bytes;
}
