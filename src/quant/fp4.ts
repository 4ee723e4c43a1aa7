// The 4-bit float formats MXFP4 and NVFP4: each nibble is an E2M1 value,
// held doubled as a small integer (FP4_LEVELS, ggml's kvalues_mxfp4), times
// a block scale that carries the halving. Decoding matches llama.cpp's
// dequantize_row_mxfp4 / _nvfp4 bit for bit (every product is exact in f32
// short of overflow, which rounds to infinity alike).
//
//   MXFP4  17 B per 32: u8 e @0 (E8M0: d = 2^(e - 128)), qs[16] @1
//          byte j: element j (low nibble) and j + 16 (high)
//   NVFP4  36 B per 64: u8 d[4] @0 (UE4M3, one per 16 elements), qs[32] @4
//          sub-block s: bytes 4 + 8s .. +7, byte j: elements 16s + j and
//          16s + j + 8

const fround = Math.fround;

/** E2M1 values doubled, by nibble (bit 3 the sign). */
export const FP4_LEVELS: readonly number[] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12];

/** MXFP4's scale: E8M0 halved, 2^(e - 128) (ggml reads e = 255 as 2^127, not NaN). */
export function e8m0Half(e: number): number {
  return 2 ** (e - 128);
}

/** NVFP4's scale: UE4M3 (bias 7, bit 7 ignored; 0 and 0x7f read as 0) halved. */
export function ue4m3Half(x: number): number {
  if (x === 0 || x === 0x7f) return 0;
  const exp = (x >> 3) & 0xf;
  const man = x & 7;
  return (exp === 0 ? man * 2 ** -9 : (1 + man / 8) * 2 ** (exp - 7)) * 0.5;
}

export function dequantizeMXFP4(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 17;
    const d = e8m0Half(src[o]);
    for (let j = 0; j < 16; j++) {
      const q = src[o + 1 + j];
      dst[b * 32 + j] = fround(FP4_LEVELS[q & 15] * d);
      dst[b * 32 + j + 16] = fround(FP4_LEVELS[q >> 4] * d);
    }
  }
}

export function dequantizeNVFP4(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 36;
    for (let s = 0; s < 4; s++) {
      const d = ue4m3Half(src[o + s]);
      const y = b * 64 + 16 * s;
      for (let j = 0; j < 8; j++) {
        const q = src[o + 4 + 8 * s + j];
        dst[y + j] = fround(FP4_LEVELS[q & 15] * d);
        dst[y + j + 8] = fround(FP4_LEVELS[q >> 4] * d);
      }
    }
  }
}

/** The nibble whose level times d is nearest to v (d > 0). */
function nearestFp4(v: number, d: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let i = 0; i < 16; i++) {
    const err = Math.abs(v - FP4_LEVELS[i] * d);
    if (err < bestErr) {
      bestErr = err;
      best = i;
    }
  }
  return best;
}

function absMax(x: Float32Array, start: number, n: number): number {
  let m = 0;
  for (let i = start; i < start + n; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

export function quantizeMXFP4(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 17;
    const amax = absMax(x, b * 32, 32);
    // The smallest power-of-two scale that keeps amax within the top level (12).
    const e = amax > 0 ? Math.min(255, Math.max(0, Math.ceil(Math.log2(amax / 12)) + 128)) : 0;
    const d = e8m0Half(e);
    dst[o] = e;
    for (let j = 0; j < 16; j++) dst[o + 1 + j] = nearestFp4(x[b * 32 + j], d) | (nearestFp4(x[b * 32 + j + 16], d) << 4);
  }
}

/** The UE4M3 code whose halved value is nearest to `target` (a positive finite scale). */
function nearestUe4m3(target: number): number {
  let best = 0;
  let bestErr = Infinity;
  for (let code = 1; code < 0x7f; code++) {
    const err = Math.abs(ue4m3Half(code) - target);
    if (err < bestErr) {
      bestErr = err;
      best = code;
    }
  }
  return best;
}

export function quantizeNVFP4(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 36;
    for (let s = 0; s < 4; s++) {
      const start = b * 64 + 16 * s;
      const amax = absMax(x, start, 16);
      const code = amax > 0 ? nearestUe4m3(amax / 12) : 0;
      const d = ue4m3Half(code);
      dst[o + s] = code;
      for (let j = 0; j < 8; j++) {
        dst[o + 4 + 8 * s + j] = d ? nearestFp4(x[start + j], d) | (nearestFp4(x[start + j + 8], d) << 4) : 0;
      }
    }
  }
}

