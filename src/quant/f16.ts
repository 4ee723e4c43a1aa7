// Exact conversions between f32 and the two 16-bit float formats in GGUF
// files (IEEE half and bfloat16), bit for bit as ggml does them on the CPU:
// half <- f32 rounds to nearest even, overflows to infinity, keeps subnormals
// and the sign of zero, and turns NaN into a quiet NaN; bf16 <- f32 rounds to
// nearest even and forces NaN quiet. Widening is always exact.

// One shared scratch word: reinterpreting a float's bits needs a typed view.
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** The raw IEEE-754 bits of `value` rounded to f32. */
export function f32Bits(value: number): number {
  scratchF32[0] = value;
  return scratchU32[0];
}

/** The f32 whose raw bits are `bits` (as a JS number). */
export function f32FromBits(bits: number): number {
  scratchU32[0] = bits >>> 0;
  return scratchF32[0];
}

// 2^-24: the value of the least significant bit of a half subnormal.
const HALF_SUBNORMAL_UNIT = 5.960464477539063e-8;

/** Widens a half (given as its 16 bits) to the exact f32 value it encodes. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * HALF_SUBNORMAL_UNIT; // zero (signed) or subnormal
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/**
 * Rounds an f32 to half, round-to-nearest-even, the way GGML_FP32_TO_FP16
 * does (F16C hardware or ggml's portable fallback give the same bits for
 * every non-NaN input). The argument is first rounded to f32, as C would.
 */
export function f32ToF16Bits(value: number): number {
  const w = f32Bits(value);
  const sign = (w >>> 16) & 0x8000;
  const exponent = (w >>> 23) & 0xff;
  const mantissa = w & 0x7fffff;

  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00);

  // Re-bias: half exponent = f32 exponent - 127 + 15.
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00; // too large even before rounding

  if (halfExponent <= 0) {
    // Half subnormal (or zero): shift the full 24-bit significand right so its
    // unit becomes 2^-24, rounding to nearest even on the bits shifted out.
    if (halfExponent < -10) return sign; // below half the smallest subnormal
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent; // 14..24
    return sign | roundShiftRightEven(significand, shift);
  }

  // Normal: drop 13 mantissa bits with round-to-nearest-even. A carry out of
  // the mantissa bumps the exponent, and a carry into exponent 31 gives inf,
  // both for free because the fields are adjacent.
  const packed = (halfExponent << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  const roundUp = rest > 0x1000 || (rest === 0x1000 && (packed & 1) === 1);
  return sign | (packed + (roundUp ? 1 : 0));
}

function roundShiftRightEven(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  const roundUp = rest > half || (rest === half && (kept & 1) === 1);
  return kept + (roundUp ? 1 : 0);
}

/** Widens a bfloat16 (its 16 bits) to f32: the bits become the top half of the f32. */
export function bf16BitsToF32(bits: number): number {
  return f32FromBits((bits & 0xffff) << 16);
}

/** Rounds an f32 to bfloat16, round-to-nearest-even; NaN stays NaN (forced quiet), as ggml does. */
export function f32ToBf16Bits(value: number): number {
  const u = f32Bits(value);
  if ((u & 0x7fffffff) > 0x7f800000) return ((u >>> 16) | 0x40) & 0xffff;
  return Math.floor((u + 0x7fff + ((u >>> 16) & 1)) / 0x10000) & 0xffff;
}

/** Reads the little-endian half at `offset` and widens it to f32. */
export function readF16(bytes: Uint8Array, offset: number): number {
  return f16BitsToF32(bytes[offset] | (bytes[offset + 1] << 8));
}

/** Writes `value` as a little-endian half at `offset`. */
export function writeF16(bytes: Uint8Array, offset: number, value: number): void {
  const bits = f32ToF16Bits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
}
