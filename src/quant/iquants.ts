// The non-linear 4-bit formats IQ4_NL and IQ4_XS: each 4-bit index picks one
// of 16 fixed signed levels (IQ4_LEVELS), times a scale. Decoding matches
// llama.cpp's dequantize_row_iq4_nl / _iq4_xs bit for bit.
//
//   IQ4_NL  18 B per 32:  f16 d @0, qs[16] @2          y = d * level
//   IQ4_XS 136 B per 256: f16 d @0, u16 scales_h @2, scales_l[4] @4, qs[128] @8
//            sub-block ib (32 values) has a 6-bit scale ls (low 4 bits in
//            scales_l nibble ib, high 2 bits in scales_h bits 2ib..2ib+1):
//            y = (d * (ls - 32)) * level
// In both, byte j of a 16-byte group holds element j (low nibble) and j + 16.

import { readF16, writeF16 } from './f16';
import { IQ4_LEVELS, fitIq4, nearestInt, nearestIq4Index } from './fit';

const fround = Math.fround;

export function dequantizeIQ4_NL(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 18;
    const d = readF16(src, o);
    const y = b * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[o + 2 + j];
      dst[y + j] = fround(d * IQ4_LEVELS[q & 0x0f]);
      dst[y + j + 16] = fround(d * IQ4_LEVELS[q >> 4]);
    }
  }
}

/** The 6-bit scale of sub-block ib (0..7) of an IQ4_XS block, before the -32 offset. */
function unpackScaleIQ4XS(src: Uint8Array, o: number, ib: number): number {
  const scalesH = src[o + 2] | (src[o + 3] << 8);
  const low = (src[o + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 0x0f;
  const high = (scalesH >> (2 * ib)) & 3;
  return low | (high << 4);
}

export function dequantizeIQ4_XS(src: Uint8Array, dst: Float32Array, nBlocks: number): void {
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 136;
    const d = readF16(src, o);
    for (let ib = 0; ib < 8; ib++) {
      const dl = fround(d * (unpackScaleIQ4XS(src, o, ib) - 32));
      const qs = o + 8 + ib * 16;
      const y = b * 256 + ib * 32;
      for (let j = 0; j < 16; j++) {
        const q = src[qs + j];
        dst[y + j] = fround(dl * IQ4_LEVELS[q & 0x0f]);
        dst[y + j + 16] = fround(dl * IQ4_LEVELS[q >> 4]);
      }
    }
  }
}

function packNibbles(indices: Uint8Array, at: number, dst: Uint8Array, offset: number): void {
  for (let j = 0; j < 16; j++) dst[offset + j] = indices[at + j] | (indices[at + j + 16] << 4);
}

/** Indices for x against the decoded scale d (index 8, level 1, when d is 0: it decodes to zero anyway). */
function indicesFor(x: Float32Array, start: number, d: number, indices: Uint8Array, at: number): void {
  for (let i = 0; i < 32; i++) indices[at + i] = d ? nearestIq4Index(x[start + i] / d) : 8;
}

export function quantizeIQ4_NL(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const indices = new Uint8Array(32);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 18;
    writeF16(dst, o, fitIq4(x, b * 32, 32, indices));
    indicesFor(x, b * 32, readF16(dst, o), indices, 0);
    packNibbles(indices, 0, dst, o + 2);
  }
}

export function quantizeIQ4_XS(x: Float32Array, dst: Uint8Array, nBlocks: number): void {
  const indices = new Uint8Array(256);
  const scales = new Float64Array(8);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * 136;
    const s = b * 256;
    let extreme = 0;
    for (let ib = 0; ib < 8; ib++) {
      scales[ib] = fitIq4(x, s + 32 * ib, 32, indices);
      if (Math.abs(scales[ib]) > Math.abs(extreme)) extreme = scales[ib];
    }
    // Map the extreme sub-block scale to -32, the end of the signed 6-bit range.
    writeF16(dst, o, extreme / -32);
    const d = readF16(dst, o);
    let scalesH = 0;
    dst.fill(0, o + 4, o + 8);
    for (let ib = 0; ib < 8; ib++) {
      const ls = d ? Math.min(31, Math.max(-32, nearestInt(scales[ib] / d))) + 32 : 32;
      dst[o + 4 + (ib >> 1)] |= (ls & 0x0f) << (4 * (ib & 1));
      scalesH |= (ls >> 4) << (2 * ib);
      indicesFor(x, s + 32 * ib, fround(d * (ls - 32)), indices, 32 * ib);
      packNibbles(indices, 32 * ib, dst, o + 8 + 16 * ib);
    }
    dst[o + 2] = scalesH & 0xff;
    dst[o + 3] = scalesH >> 8;
  }
}
