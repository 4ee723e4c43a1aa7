// The unquantized element types: F32, F16 and BF16, little-endian.

import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './f16';

// Every host WebClaw runs on (x86, ARM; browsers and Node) is little-endian,
// like GGUF, so F32 data is copied byte for byte: NaN payloads survive too.
export function dequantizeF32(src: Uint8Array, dst: Float32Array, n: number): void {
  new Uint8Array(dst.buffer, dst.byteOffset, 4 * n).set(src.subarray(0, 4 * n));
}

export function quantizeF32(x: Float32Array, dst: Uint8Array, n: number): void {
  dst.set(new Uint8Array(x.buffer, x.byteOffset, 4 * n));
}

export function dequantizeF16(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = f16BitsToF32(src[2 * i] | (src[2 * i + 1] << 8));
}

export function quantizeF16(x: Float32Array, dst: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const bits = f32ToF16Bits(x[i]);
    dst[2 * i] = bits & 0xff;
    dst[2 * i + 1] = bits >>> 8;
  }
}

export function dequantizeBF16(src: Uint8Array, dst: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) dst[i] = bf16BitsToF32(src[2 * i] | (src[2 * i + 1] << 8));
}

export function quantizeBF16(x: Float32Array, dst: Uint8Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const bits = f32ToBf16Bits(x[i]);
    dst[2 * i] = bits & 0xff;
    dst[2 * i + 1] = bits >>> 8;
  }
}
