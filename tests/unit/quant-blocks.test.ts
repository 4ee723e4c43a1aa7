// Hand-built blocks decode to numbers worked out by hand from each format's
// definition (ggml-common.h layouts). The expected values are literals, not
// recomputed with the code under test.

import { describe, expect, it } from 'vitest';
import { GGML_TYPES, GgmlType } from '../../src/gguf/types';
import { dequantize, QUANT_TYPES } from '../../src/quant';

const F16_ONE = 0x3c00;
const F16_HALF = 0x3800;
const F16_TWO = 0x4000;
const F16_MAX = 0x7bff; // 65504
const F16_TINY = 0x0001; // 2^-24, the smallest subnormal
const F16_NEG_ZERO = 0x8000;

function block(type: GgmlType): Uint8Array {
  return new Uint8Array(GGML_TYPES.get(type)!.blockBytes);
}

function putF16(b: Uint8Array, offset: number, bits: number): void {
  b[offset] = bits & 0xff;
  b[offset + 1] = bits >> 8;
}

function decodeOne(type: GgmlType, b: Uint8Array): Float32Array {
  return dequantize(type, b, GGML_TYPES.get(type)!.blockSize);
}

describe('hand-built blocks decode to the values the format defines', () => {
  it('Q8_0: q * d with the largest half scale', () => {
    const b = block(GgmlType.Q8_0);
    putF16(b, 0, F16_MAX);
    b[2] = 127;
    b[3] = 0x80; // -128
    b[4] = 1;
    b[5] = 0xff; // -1
    const y = decodeOne(GgmlType.Q8_0, b);
    expect([y[0], y[1], y[2], y[3], y[4]]).toEqual([8319008, -8384512, 65504, -65504, 0]);
  });

  it('Q8_0: a subnormal scale gives exact multiples of 2^-24', () => {
    const b = block(GgmlType.Q8_0);
    putF16(b, 0, F16_TINY);
    b[2] = 3;
    b[3] = 0x81; // -127
    const y = decodeOne(GgmlType.Q8_0, b);
    expect(y[0]).toBe(3 * 2 ** -24);
    expect(y[1]).toBe(-127 * 2 ** -24);
  });

  it('Q8_0: a negative zero scale gives signed zeros like C does', () => {
    const b = block(GgmlType.Q8_0);
    putF16(b, 0, F16_NEG_ZERO);
    b[2] = 5;
    b[3] = 0xfb; // -5
    const y = decodeOne(GgmlType.Q8_0, b);
    expect(Object.is(y[0], -0)).toBe(true); // 5 * -0
    expect(Object.is(y[1], 0)).toBe(true); // -5 * -0
    expect(Object.is(y[2], -0)).toBe(true); // 0 * -0
  });

  it('Q4_0: (nibble - 8) * d, low nibbles first then high nibbles', () => {
    const b = block(GgmlType.Q4_0);
    putF16(b, 0, F16_TWO);
    b[2] = 0xf0; // element 0: 0 -> -16, element 16: 15 -> 14
    b[3] = 0x98; // element 1: 8 -> 0, element 17: 9 -> 2
    const y = decodeOne(GgmlType.Q4_0, b);
    expect([y[0], y[16], y[1], y[17], y[2]]).toEqual([-16, 14, 0, 2, -16]);
  });

  it('Q4_1: nibble * d + m, and the sum is rounded to f32', () => {
    const b = block(GgmlType.Q4_1);
    putF16(b, 0, F16_ONE);
    putF16(b, 2, 0xc000); // m = -2
    b[4] = 0x3f; // element 0: 15 -> 13, element 16: 3 -> 1
    let y = decodeOne(GgmlType.Q4_1, b);
    expect([y[0], y[16], y[1]]).toEqual([13, 1, -2]);

    putF16(b, 2, F16_TINY); // m = 2^-24, far below half an f32 ulp of 15
    y = decodeOne(GgmlType.Q4_1, b);
    expect(y[0]).toBe(15); // exact arithmetic would give 15.00000006
    expect(y[1]).toBe(2 ** -24); // 0 * 1 + 2^-24
  });

  it('Q5_0: the fifth bit comes from qh bit j (element j) and bit j + 16 (element j + 16)', () => {
    const b = block(GgmlType.Q5_0);
    putF16(b, 0, F16_ONE);
    b[2] = 0x01; // qh bit 0: element 0 high bit
    b[4] = 0x02; // qh bit 17: element 17 high bit
    b[6] = 0x3f; // element 0: 15 | 16 = 31 -> 15;  element 16: 3 -> -13
    b[7] = 0x20; // element 1: 0 -> -16;            element 17: 2 | 16 = 18 -> 2
    const y = decodeOne(GgmlType.Q5_0, b);
    expect([y[0], y[16], y[1], y[17]]).toEqual([15, -13, -16, 2]);
  });

  it('Q5_1: five-bit value * d + m', () => {
    const b = block(GgmlType.Q5_1);
    putF16(b, 0, F16_HALF);
    putF16(b, 2, 0x3c00); // m = 1
    b[7] = 0x80; // qh bit 31: element 31 high bit
    b[8 + 15] = 0xf1; // element 15: 1 -> 1.5; element 31: 15 | 16 = 31 -> 16.5
    const y = decodeOne(GgmlType.Q5_1, b);
    expect([y[15], y[31], y[0]]).toEqual([1.5, 16.5, 1]);
  });

  it('Q2_K: d * scale * q - dmin * min, per 16-element sub-block', () => {
    const b = block(GgmlType.Q2_K);
    b.fill(0x21, 0, 16); // every sub-block: scale 1, min 2
    b[16] = 0b11100100; // elements 0, 32, 64, 96 get q = 0, 1, 2, 3
    putF16(b, 80, F16_ONE);
    putF16(b, 82, F16_HALF);
    let y = decodeOne(GgmlType.Q2_K, b);
    expect([y[0], y[32], y[64], y[96], y[1]]).toEqual([-1, 0, 1, 2, -1]);

    // Largest scale, and a min so small that the f32 difference rounds it away.
    b[0] = 0x1f; // sub-block 0: scale 15, min 1
    putF16(b, 80, F16_MAX);
    putF16(b, 82, F16_TINY);
    b[16] = 0x03; // element 0: q = 3
    y = decodeOne(GgmlType.Q2_K, b);
    expect(y[0]).toBe(2947680); // 65504 * 15 * 3, minus 2^-24 lost to rounding
  });

  it('Q3_K: (d * (scale - 32)) * (q - (hmask bit ? 0 : 4))', () => {
    const b = block(GgmlType.Q3_K);
    // All sixteen 6-bit scales 33 (= +1): low nibbles 1, high pairs 0b10.
    b.fill(0x11, 96, 104);
    b.fill(0xaa, 104, 108);
    // Sub-block 15 gets scale 0 (= -32): its low nibble is the top of byte 7, high pair bits 6-7 of byte 11.
    b[96 + 7] = 0x01;
    b[96 + 11] = 0x2a;
    putF16(b, 108, F16_ONE);
    b[0] = 0x03; // hmask byte 0: bit 0 -> element 0, bit 1 -> element 32
    b[32] = 0b11100100; // element 0: q 0, 32: q 1, 64: q 2, 96: q 3
    const y = decodeOne(GgmlType.Q3_K, b);
    expect([y[0], y[32], y[64], y[96], y[1]]).toEqual([0, 1, -2, -1, -4]);
    expect(y[255]).toBe(128); // -32 * (0 - 4)
  });

  it('Q4_K: 6-bit scales and mins, including the packed upper sub-blocks', () => {
    const b = block(GgmlType.Q4_K);
    putF16(b, 0, F16_ONE);
    putF16(b, 2, F16_ONE);
    b[4 + 0] = 2 | 0x40; // sub-block 0 scale 2; top bits = high bits of sub-block 4's scale (1)
    b[4 + 4] = 3 | 0xc0; // sub-block 0 min 3; top bits = high bits of sub-block 4's min (3)
    b[4 + 8] = 0x5f; // sub-block 4: scale low 15, min low 5 -> scale 31, min 53
    b[16] = 0x07; // element 0: 7; element 32 (sub-block 1, scale 0 min 0): 0
    b[16 + 64] = 0x0a; // element 128 (sub-block 4): 10
    const y = decodeOne(GgmlType.Q4_K, b);
    expect([y[0], y[32], y[128]]).toEqual([11, 0, 257]); // 2*7-3, 0, 31*10-53
  });

  it('Q5_K: the fifth bit of element j of pair p is qh[j] bit 2p (low half) or 2p+1 (high half)', () => {
    const b = block(GgmlType.Q5_K);
    putF16(b, 0, F16_ONE);
    putF16(b, 2, F16_ONE);
    b[4 + 0] = 2; // sub-block 0: scale 2
    b[4 + 4] = 3; // sub-block 0: min 3
    b[4 + 1] = 1; // sub-block 1: scale 1, min 0
    b[16] = 0b11; // element 0 and element 32 get +16
    b[48] = 0x27; // element 0: 7 + 16 = 23; element 32: 2 + 16 = 18
    const y = decodeOne(GgmlType.Q5_K, b);
    expect([y[0], y[32], y[1]]).toEqual([43, 18, -3]); // 2*23-3, 1*18-0, 2*0-3
  });

  it('Q6_K: d * scale * (6-bit q - 32), with int8 scales', () => {
    const b = block(GgmlType.Q6_K);
    b[0] = 0xf5; // element 0: low 5; element 64: low 15
    b[128] = 0x32; // element 0: high 2 -> 37; element 32: high 0; element 64: high 3 -> 63
    b[192 + 0] = 0xfd; // scale -3 for elements 0..15
    b[192 + 2] = 1; // scale 1 for elements 32..47
    b[192 + 4] = 127; // scale 127 for elements 64..79
    putF16(b, 208, F16_HALF);
    let y = decodeOne(GgmlType.Q6_K, b);
    expect([y[0], y[32], y[64]]).toEqual([-7.5, -16, 1968.5]); // .5*-3*5, .5*1*-32, .5*127*31

    b.fill(0);
    b[192] = 0x80; // scale -128
    putF16(b, 208, F16_MAX);
    y = decodeOne(GgmlType.Q6_K, b);
    expect(y[0]).toBe(268304384); // 65504 * -128 * -32
  });

  it('IQ4_NL: d * kvalues_iq4nl[index]', () => {
    const b = block(GgmlType.IQ4_NL);
    putF16(b, 0, F16_ONE);
    b[2] = 0xf0; // element 0: index 0 -> -127; element 16: index 15 -> 113
    b[3] = 0x78; // element 1: index 8 -> 1; element 17: index 7 -> -10
    const y = decodeOne(GgmlType.IQ4_NL, b);
    expect([y[0], y[16], y[1], y[17]]).toEqual([-127, 113, 1, -10]);
  });

  it('IQ4_XS: (d * (6-bit scale - 32)) * kvalues_iq4nl[index]', () => {
    const b = block(GgmlType.IQ4_XS);
    putF16(b, 0, F16_HALF);
    b[2] = 0b10; // scales_h: sub-block 0 high bits 2, sub-block 1 high bits 0
    b[4] = 0x02; // scales_l: sub-block 0 low 2 (-> 34, i.e. +2), sub-block 1 low 0 (-> -32)
    b[8] = 0x8f; // element 0: index 15 -> 113; element 16: index 8 -> 1
    b[8 + 16] = 0x00; // element 32 (sub-block 1): index 0 -> -127
    const y = decodeOne(GgmlType.IQ4_XS, b);
    expect([y[0], y[16], y[32]]).toEqual([113, 1, 2032]); // 1*113, 1*1, -16*-127
  });

  it.each(QUANT_TYPES.map((t) => [GgmlType[t], t] as const))('%s: an all-zero block decodes to zeros', (_name, type) => {
    const y = decodeOne(type, block(type));
    expect(y.every((v) => v === 0)).toBe(true);
  });
});
