// The CPU quantization reference: decode any supported GGML tensor type to
// f32 exactly as llama.cpp's CPU dequantize_row_* does, and encode f32 into
// valid blocks of that type. Used by tests (the GPU decoders are checked
// against it), the synthetic model generator and CPU fallbacks.

import { ClawError } from '../errors';
import { GGML_TYPES, GgmlType, ggmlTypeName, type GgmlTypeInfo } from '../gguf/types';
import { dequantizeBF16, dequantizeF16, dequantizeF32, quantizeBF16, quantizeF16, quantizeF32 } from './floats';
import { dequantizeMXFP4, dequantizeNVFP4, quantizeMXFP4, quantizeNVFP4 } from './fp4';
import { quantizeIQ2_XXS, quantizeIQ3_XXS } from './iq-grid-encode';
import { quantizeIQ1_M, quantizeIQ1_S, quantizeIQ2_S, quantizeIQ2_XS, quantizeIQ3_S } from './iq-lattice-encode';
import { dequantizeIQ1_M, dequantizeIQ1_S, dequantizeIQ2_S, dequantizeIQ2_XS, dequantizeIQ2_XXS, dequantizeIQ3_S, dequantizeIQ3_XXS } from './iq-grid-types';
import { dequantizeIQ4_NL, dequantizeIQ4_XS, quantizeIQ4_NL, quantizeIQ4_XS } from './iquants';
import { dequantizeQ2_K, dequantizeQ3_K, dequantizeQ4_K, dequantizeQ5_K, dequantizeQ6_K } from './kquants';
import { quantizeQ2_K, quantizeQ3_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from './kquants-encode';
import {
  dequantizeQ4_0,
  dequantizeQ4_1,
  dequantizeQ5_0,
  dequantizeQ5_1,
  dequantizeQ8_0,
  quantizeQ4_0,
  quantizeQ4_1,
  quantizeQ5_0,
  quantizeQ5_1,
  quantizeQ8_0,
} from './legacy';
import { dequantizeTQ1_0, dequantizeTQ2_0, quantizeTQ1_0, quantizeTQ2_0 } from './ternary';

export { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from './f16';
export { QUANT_ERROR_BOUNDS } from './error-bounds';

/** Decodes `nBlocks` blocks from `src` (starting at byte 0) into `dst` (starting at element 0). */
type BlockDecoder = (src: Uint8Array, dst: Float32Array, nBlocks: number) => void;
/** Encodes `nBlocks` blocks of `x` (from element 0) into `dst` (from byte 0). */
type BlockEncoder = (x: Float32Array, dst: Uint8Array, nBlocks: number) => void;

interface Codec {
  decode: BlockDecoder;
  encode: BlockEncoder;
}

const CODECS: ReadonlyMap<GgmlType, Codec> = new Map<GgmlType, Codec>([
  [GgmlType.F32, { decode: dequantizeF32, encode: quantizeF32 }],
  [GgmlType.F16, { decode: dequantizeF16, encode: quantizeF16 }],
  [GgmlType.BF16, { decode: dequantizeBF16, encode: quantizeBF16 }],
  [GgmlType.Q4_0, { decode: dequantizeQ4_0, encode: quantizeQ4_0 }],
  [GgmlType.Q4_1, { decode: dequantizeQ4_1, encode: quantizeQ4_1 }],
  [GgmlType.Q5_0, { decode: dequantizeQ5_0, encode: quantizeQ5_0 }],
  [GgmlType.Q5_1, { decode: dequantizeQ5_1, encode: quantizeQ5_1 }],
  [GgmlType.Q8_0, { decode: dequantizeQ8_0, encode: quantizeQ8_0 }],
  [GgmlType.Q2_K, { decode: dequantizeQ2_K, encode: quantizeQ2_K }],
  [GgmlType.Q3_K, { decode: dequantizeQ3_K, encode: quantizeQ3_K }],
  [GgmlType.Q4_K, { decode: dequantizeQ4_K, encode: quantizeQ4_K }],
  [GgmlType.Q5_K, { decode: dequantizeQ5_K, encode: quantizeQ5_K }],
  [GgmlType.Q6_K, { decode: dequantizeQ6_K, encode: quantizeQ6_K }],
  [GgmlType.IQ4_NL, { decode: dequantizeIQ4_NL, encode: quantizeIQ4_NL }],
  [GgmlType.IQ4_XS, { decode: dequantizeIQ4_XS, encode: quantizeIQ4_XS }],
  [GgmlType.IQ2_XXS, { decode: dequantizeIQ2_XXS, encode: quantizeIQ2_XXS }],
  [GgmlType.IQ2_XS, { decode: dequantizeIQ2_XS, encode: quantizeIQ2_XS }],
  [GgmlType.IQ2_S, { decode: dequantizeIQ2_S, encode: quantizeIQ2_S }],
  [GgmlType.IQ3_XXS, { decode: dequantizeIQ3_XXS, encode: quantizeIQ3_XXS }],
  [GgmlType.IQ3_S, { decode: dequantizeIQ3_S, encode: quantizeIQ3_S }],
  [GgmlType.IQ1_S, { decode: dequantizeIQ1_S, encode: quantizeIQ1_S }],
  [GgmlType.IQ1_M, { decode: dequantizeIQ1_M, encode: quantizeIQ1_M }],
  [GgmlType.MXFP4, { decode: dequantizeMXFP4, encode: quantizeMXFP4 }],
  [GgmlType.NVFP4, { decode: dequantizeNVFP4, encode: quantizeNVFP4 }],
  [GgmlType.TQ1_0, { decode: dequantizeTQ1_0, encode: quantizeTQ1_0 }],
  [GgmlType.TQ2_0, { decode: dequantizeTQ2_0, encode: quantizeTQ2_0 }],
]);

/** Every type this module can decode and encode. */
export const QUANT_TYPES: readonly GgmlType[] = [...CODECS.keys()];

export function isQuantTypeSupported(type: GgmlType): boolean {
  return CODECS.has(type);
}

function codecFor(type: GgmlType): { codec: Codec; info: GgmlTypeInfo } {
  const codec = CODECS.get(type);
  const info = GGML_TYPES.get(type);
  if (!codec || !info) {
    throw new ClawError('clw-quant-unsupported', `the CPU quantization reference cannot handle tensor type ${ggmlTypeName(type)}`, {
      fix: `Use a model quantized with one of: ${QUANT_TYPES.map((t) => GgmlType[t]).join(', ')}.`,
      details: { type, typeName: ggmlTypeName(type) },
    });
  }
  return { codec, info };
}

function blockCount(info: GgmlTypeInfo, nElements: number): number {
  if (!Number.isSafeInteger(nElements) || nElements < 0 || nElements % info.blockSize !== 0) {
    throw new ClawError('clw-bad-request', `${nElements} elements is not a whole number of ${info.name} blocks of ${info.blockSize}`, {
      details: { type: info.type, typeName: info.name, nElements, blockSize: info.blockSize },
    });
  }
  return nElements / info.blockSize;
}

/** Bytes that `nElements` elements of `type` occupy (a whole number of blocks). */
export function quantizedByteLength(type: GgmlType, nElements: number): number {
  const { info } = codecFor(type);
  return blockCount(info, nElements) * info.blockBytes;
}

/**
 * Decodes the first `nElements` elements of `bytes` (type `type`) to f32,
 * bit-identical to llama.cpp's CPU dequantize_row_*. Throws
 * clw-quant-unsupported for types without a CPU reference and
 * clw-bad-request when the count is not whole blocks or `bytes` is too short.
 */
export function dequantize(type: GgmlType, bytes: Uint8Array, nElements: number): Float32Array {
  const out = new Float32Array(nElements);
  dequantizeInto(type, bytes, out, nElements);
  return out;
}

/** dequantize into the first `nElements` of `out` (allocates nothing: a per-token path reuses `out`). */
export function dequantizeInto(type: GgmlType, bytes: Uint8Array, out: Float32Array, nElements: number): void {
  const { codec, info } = codecFor(type);
  const nBlocks = blockCount(info, nElements);
  const needed = nBlocks * info.blockBytes;
  if (bytes.length < needed) {
    throw new ClawError('clw-bad-request', `${info.name} data is ${bytes.length} bytes, ${nElements} elements need ${needed}`, {
      details: { type, typeName: info.name, nElements, needed, available: bytes.length },
    });
  }
  if (out.length < nElements) throw new ClawError('clw-bad-request', `an output of ${out.length} floats cannot hold ${nElements} elements`, { details: { type, nElements } });
  codec.decode(bytes, out, nBlocks);
}

/**
 * Decodes rows [firstRow, firstRow + rowCount) of a 2-D tensor whose rows
 * hold `rowLength` elements each (ggml's shape[0]); `bytes` is the whole
 * tensor. Rows are always whole blocks in GGUF, so a row starts at
 * `row * rowBytes`. Used for embedding lookups.
 */
export function dequantizeRows(type: GgmlType, bytes: Uint8Array, rowLength: number, firstRow: number, rowCount: number): Float32Array {
  const { info } = codecFor(type);
  const rowBytes = blockCount(info, rowLength) * info.blockBytes;
  if (!Number.isSafeInteger(firstRow) || !Number.isSafeInteger(rowCount) || firstRow < 0 || rowCount < 0) {
    throw new ClawError('clw-bad-request', `invalid row range ${firstRow} + ${rowCount}`, { details: { firstRow, rowCount } });
  }
  const start = firstRow * rowBytes;
  const end = start + rowCount * rowBytes;
  if (end > bytes.length) {
    throw new ClawError('clw-bad-request', `rows ${firstRow}..${firstRow + rowCount - 1} run past the end of the ${info.name} data`, {
      details: { type, firstRow, rowCount, rowBytes, available: bytes.length },
    });
  }
  return dequantize(type, bytes.subarray(start, end), rowCount * rowLength);
}

/**
 * Encodes `values` as blocks of `type`. The length must be a whole number
 * of blocks. The scales chosen are reasonable (see QUANT_ERROR_BOUNDS), not
 * necessarily llama-quantize's; llama.cpp reads the blocks the same way.
 */
export function quantize(type: GgmlType, values: Float32Array): Uint8Array {
  const { codec, info } = codecFor(type);
  const nBlocks = blockCount(info, values.length);
  const out = new Uint8Array(nBlocks * info.blockBytes);
  codec.encode(values, out, nBlocks);
  return out;
}
