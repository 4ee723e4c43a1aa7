import { describe, expect, it } from 'vitest';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/quant';

describe('f16 <-> f32', () => {
  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x7bff, 65504],
    [0x0400, 2 ** -14],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x3555, 0.333251953125],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])('widens half bits %i to its exact value %d', (bits, value) => {
    expect(f16BitsToF32(bits)).toBe(value);
  });

  it('keeps the sign of zero and turns NaN patterns into NaN', () => {
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
    expect(Object.is(f16BitsToF32(0x0000), 0)).toBe(true);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0xfc01)).toBeNaN();
  });

  it('round-trips every finite half bit pattern', () => {
    const mismatches: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0) continue; // NaN
      if (f32ToF16Bits(f16BitsToF32(h)) !== h) mismatches.push(h);
    }
    expect(mismatches).toEqual([]);
  });

  it.each([
    [1 + 2 ** -11, 0x3c00, 'a tie rounds to the even mantissa (down)'],
    [1 + 3 * 2 ** -11, 0x3c02, 'a tie rounds to the even mantissa (up)'],
    [1 + 2 ** -11 + 2 ** -20, 0x3c01, 'just above a tie rounds up'],
    [65519, 0x7bff, 'below the overflow tie stays at 65504'],
    [65520, 0x7c00, 'the overflow tie rounds to infinity'],
    [1e6, 0x7c00, 'too large becomes infinity'],
    [-1e6, 0xfc00, 'too negative becomes -infinity'],
    [2 ** -25, 0x0000, 'half the smallest subnormal ties to zero'],
    [3 * 2 ** -26, 0x0001, 'above half the smallest subnormal rounds up'],
    [-(2 ** -26), 0x8000, 'a tiny negative becomes negative zero'],
    [2 ** -14 - 2 ** -25, 0x0400, 'the largest subnormal tie carries into the smallest normal'],
    [-0, 0x8000, 'negative zero keeps its sign'],
    [NaN, 0x7e00, 'NaN becomes the quiet NaN'],
    [Infinity, 0x7c00, 'infinity stays infinity'],
  ])('rounds %d to half bits %i: %s', (value, bits) => {
    expect(f32ToF16Bits(value)).toBe(bits);
  });

  it('rounds the argument to f32 first, as the C conversion sees a float', () => {
    // 1 + 2^-11 + 2^-40 is a tie once rounded to f32, so it goes to even (down).
    expect(f32ToF16Bits(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c00);
  });
});

describe('bf16 <-> f32', () => {
  it('widens by placing the bits in the top half of an f32', () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc040)).toBe(-3);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(Object.is(bf16BitsToF32(0x8000), -0)).toBe(true);
    expect(bf16BitsToF32(0x0001)).toBe(2 ** -133);
    expect(bf16BitsToF32(0x7fc0)).toBeNaN();
  });

  it('rounds to nearest even and keeps NaN a quiet NaN', () => {
    expect(f32ToBf16Bits(1)).toBe(0x3f80);
    expect(f32ToBf16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie, even stays
    expect(f32ToBf16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie, odd rounds up
    expect(f32ToBf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81);
    expect(f32ToBf16Bits(3.4e38)).toBe(0x7f80); // rounds up into infinity
    expect(f32ToBf16Bits(-0)).toBe(0x8000);
    expect(f32ToBf16Bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });
});
