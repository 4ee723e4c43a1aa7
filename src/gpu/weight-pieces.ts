// The WGSL pieces of each GGUF weight type: the decode piece (`decode4`,
// shaders/decode/), the whole-block dot product (`dot32`, shaders/dot/),
// the wide-load dot product (shaders/dot/wide/) and the dot products
// against int8 activations (shaders/dot/i8/), with the helpers each needs
// in front of it. The assembler (shaders.ts) puts them where a kernel asks.
// Adding a weight type = one decode piece + one entry in DECODE_PIECES.

import { ClawError } from '../errors';
import { GgmlType, ggmlTypeName } from '../gguf/types';
import bytesPiece from '../../shaders/decode/bytes.wgsl?raw';
import f32Piece from '../../shaders/decode/f32.wgsl?raw';
import f16Piece from '../../shaders/decode/f16.wgsl?raw';
import q8_0Piece from '../../shaders/decode/q8_0.wgsl?raw';
import q4_0Piece from '../../shaders/decode/q4_0.wgsl?raw';
import bf16Piece from '../../shaders/decode/bf16.wgsl?raw';
import nibblesHelpers from '../../shaders/decode/nibbles.wgsl?raw';
import kScaleHelpers from '../../shaders/decode/kscale.wgsl?raw';
import q4_1Piece from '../../shaders/decode/q4_1.wgsl?raw';
import q5_0Piece from '../../shaders/decode/q5_0.wgsl?raw';
import q5_1Piece from '../../shaders/decode/q5_1.wgsl?raw';
import q2_kPiece from '../../shaders/decode/q2_k.wgsl?raw';
import q3_kPiece from '../../shaders/decode/q3_k.wgsl?raw';
import q4_kPiece from '../../shaders/decode/q4_k.wgsl?raw';
import q5_kPiece from '../../shaders/decode/q5_k.wgsl?raw';
import q6_kPiece from '../../shaders/decode/q6_k.wgsl?raw';
import iq4_nlPiece from '../../shaders/decode/iq4_nl.wgsl?raw';
import iq4_xsPiece from '../../shaders/decode/iq4_xs.wgsl?raw';
import iqGridHelpers from '../../shaders/decode/iq_grid.wgsl?raw';
import iq2_xxsPiece from '../../shaders/decode/iq2_xxs.wgsl?raw';
import iq2_xsPiece from '../../shaders/decode/iq2_xs.wgsl?raw';
import iq2_sPiece from '../../shaders/decode/iq2_s.wgsl?raw';
import iq3_xxsPiece from '../../shaders/decode/iq3_xxs.wgsl?raw';
import iq3_sPiece from '../../shaders/decode/iq3_s.wgsl?raw';
import iq1_sPiece from '../../shaders/decode/iq1_s.wgsl?raw';
import iq1_mPiece from '../../shaders/decode/iq1_m.wgsl?raw';
import mxfp4Piece from '../../shaders/decode/mxfp4.wgsl?raw';
import nvfp4Piece from '../../shaders/decode/nvfp4.wgsl?raw';
import tq1_0Piece from '../../shaders/decode/tq1_0.wgsl?raw';
import tq2_0Piece from '../../shaders/decode/tq2_0.wgsl?raw';
import { GRID_OF_TYPE, WGSL_FP4_LEVELS, WGSL_GRID_TABLE, WGSL_IQ4_LEVELS, wgslGrid } from './quant-tables';
import dotGenericPiece from '../../shaders/dot/generic.wgsl?raw';
import dotHelpers from '../../shaders/dot/helpers.wgsl?raw';
import dotWords from '../../shaders/dot/words.wgsl?raw';
import dotWideF32 from '../../shaders/dot/wide/f32.wgsl?raw';
import dotWideF16 from '../../shaders/dot/wide/f16.wgsl?raw';
import dotWideK4Sub from '../../shaders/dot/wide/k4_sub.wgsl?raw';
import dotWideQ4K from '../../shaders/dot/wide/q4_k.wgsl?raw';
import dotWideQ5K from '../../shaders/dot/wide/q5_k.wgsl?raw';
import dotKScale from '../../shaders/dot/kscale.wgsl?raw';
import dotK4Sub from '../../shaders/dot/k4_sub.wgsl?raw';
import dotQ6KSub from '../../shaders/dot/q6_k_sub.wgsl?raw';
import dotF32 from '../../shaders/dot/f32.wgsl?raw';
import dotF16 from '../../shaders/dot/f16.wgsl?raw';
import dotBf16 from '../../shaders/dot/bf16.wgsl?raw';
import dotQ80 from '../../shaders/dot/q8_0.wgsl?raw';
import dotQ40 from '../../shaders/dot/q4_0.wgsl?raw';
import dotQ41 from '../../shaders/dot/q4_1.wgsl?raw';
import dotQ50 from '../../shaders/dot/q5_0.wgsl?raw';
import dotQ51 from '../../shaders/dot/q5_1.wgsl?raw';
import dotQ2K from '../../shaders/dot/q2_k.wgsl?raw';
import dotQ3K from '../../shaders/dot/q3_k.wgsl?raw';
import dotQ4K from '../../shaders/dot/q4_k.wgsl?raw';
import dotQ5K from '../../shaders/dot/q5_k.wgsl?raw';
import dotQ6K from '../../shaders/dot/q6_k.wgsl?raw';
import dotIq4Nl from '../../shaders/dot/iq4_nl.wgsl?raw';
import dotIq4Xs from '../../shaders/dot/iq4_xs.wgsl?raw';
import dotMxfp4 from '../../shaders/dot/mxfp4.wgsl?raw';
import dotTq20 from '../../shaders/dot/tq2_0.wgsl?raw';
import i8Helpers from '../../shaders/dot/i8/helpers.wgsl?raw';
import i8Q80 from '../../shaders/dot/i8/q8_0.wgsl?raw';
import i8Q40 from '../../shaders/dot/i8/q4_0.wgsl?raw';
import i8Q41 from '../../shaders/dot/i8/q4_1.wgsl?raw';
import i8Q5Words from '../../shaders/dot/i8/q5_words.wgsl?raw';
import i8Q50 from '../../shaders/dot/i8/q5_0.wgsl?raw';
import i8Q51 from '../../shaders/dot/i8/q5_1.wgsl?raw';
import i8Q4K from '../../shaders/dot/i8/q4_k.wgsl?raw';
import i8Q5K from '../../shaders/dot/i8/q5_k.wgsl?raw';
import i8Q6K from '../../shaders/dot/i8/q6_k.wgsl?raw';
import i8WideQ4K from '../../shaders/dot/i8/wide/q4_k.wgsl?raw';
import i8WideQ5K from '../../shaders/dot/i8/wide/q5_k.wgsl?raw';

/** A lattice type's piece: byte helpers, where its grid is in the grid table and its levels, the shared grid helpers. */
const gridPiece = (type: GgmlType, piece: string) => nibblesHelpers + wgslGrid(GRID_OF_TYPE.get(type)!) + iqGridHelpers + piece;

/**
 * Each piece defines `fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32>`:
 * elements 4*k4 .. 4*k4+3 of the row whose GGUF bytes start at byte
 * `row_byte_base` of `weights: array<u32>` (see docs/gpu-kernels.md).
 */
const DECODE_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.F32, f32Piece],
  [GgmlType.F16, f16Piece],
  [GgmlType.Q8_0, q8_0Piece],
  [GgmlType.Q4_0, q4_0Piece],
  // Pieces for the other types start with the shared byte/nibble helpers.
  [GgmlType.BF16, bf16Piece],
  [GgmlType.Q4_1, nibblesHelpers + q4_1Piece],
  [GgmlType.Q5_0, nibblesHelpers + q5_0Piece],
  [GgmlType.Q5_1, nibblesHelpers + q5_1Piece],
  [GgmlType.Q2_K, nibblesHelpers + q2_kPiece],
  [GgmlType.Q3_K, nibblesHelpers + q3_kPiece],
  [GgmlType.Q4_K, nibblesHelpers + kScaleHelpers + q4_kPiece],
  [GgmlType.Q5_K, nibblesHelpers + kScaleHelpers + q5_kPiece],
  [GgmlType.Q6_K, nibblesHelpers + q6_kPiece],
  [GgmlType.IQ4_NL, nibblesHelpers + WGSL_IQ4_LEVELS + iq4_nlPiece],
  [GgmlType.IQ4_XS, nibblesHelpers + WGSL_IQ4_LEVELS + iq4_xsPiece],
  [GgmlType.IQ2_XXS, gridPiece(GgmlType.IQ2_XXS, iq2_xxsPiece)],
  [GgmlType.IQ2_XS, gridPiece(GgmlType.IQ2_XS, iq2_xsPiece)],
  [GgmlType.IQ2_S, gridPiece(GgmlType.IQ2_S, iq2_sPiece)],
  [GgmlType.IQ3_XXS, gridPiece(GgmlType.IQ3_XXS, iq3_xxsPiece)],
  [GgmlType.IQ3_S, gridPiece(GgmlType.IQ3_S, iq3_sPiece)],
  [GgmlType.IQ1_S, gridPiece(GgmlType.IQ1_S, iq1_sPiece)],
  [GgmlType.IQ1_M, gridPiece(GgmlType.IQ1_M, iq1_mPiece)],
  [GgmlType.MXFP4, nibblesHelpers + WGSL_FP4_LEVELS + mxfp4Piece],
  [GgmlType.NVFP4, nibblesHelpers + WGSL_FP4_LEVELS + nvfp4Piece],
  [GgmlType.TQ1_0, nibblesHelpers + tq1_0Piece],
  [GgmlType.TQ2_0, nibblesHelpers + tq2_0Piece],
]);

/**
 * Whole-block dot products: `fn dot32(row_byte_base: u32, b: u32) -> f32`,
 * weights 32b..32b+31 of a row against the kernel's `act4(k4)`. Each piece
 * decodes its whole sub-block from few word loads, scales once (see
 * docs/gpu-kernels.md); it may use its type's decode piece and helpers,
 * which come first. Types without a piece use the generic one over decode4.
 */
const DOT_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.F32, dotF32],
  [GgmlType.F16, dotF16],
  [GgmlType.BF16, dotBf16],
  [GgmlType.Q8_0, dotHelpers + dotWords + dotQ80],
  [GgmlType.Q4_0, dotHelpers + dotWords + dotQ40],
  [GgmlType.Q4_1, dotHelpers + dotQ41],
  [GgmlType.Q5_0, dotHelpers + dotWords + dotQ50],
  [GgmlType.Q5_1, dotHelpers + dotQ51],
  [GgmlType.Q2_K, dotHelpers + dotQ2K],
  [GgmlType.Q3_K, dotHelpers + dotWords + dotQ3K],
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotK4Sub + dotQ4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotK4Sub + dotQ5K],
  [GgmlType.Q6_K, dotHelpers + dotWords + dotQ6KSub + dotQ6K],
  [GgmlType.IQ4_NL, dotHelpers + dotWords + dotIq4Nl],
  [GgmlType.IQ4_XS, dotHelpers + dotIq4Xs],
  [GgmlType.MXFP4, dotHelpers + dotMxfp4],
  [GgmlType.TQ2_0, dotHelpers + dotWords + dotTq20],
]);

/**
 * dot32 with wide loads: the segment's weights are bound as
 * `array<vec4<u32>>` and the piece reads whole 16-byte groups (types whose
 * rows of whole 32-blocks start on 16 bytes and whose fields lie on them).
 * Used by `//#include segments` kernels assembled with `wideLoads` (the
 * decode pass's matvec, rows of whole 32-blocks); a piece here may use
 * helpers.wgsl and kscale.wgsl, which make no word loads.
 */
export const WIDE_DOT_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.F32, dotWideF32],
  [GgmlType.F16, dotHelpers + dotWideF16],
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotWideK4Sub + dotWideQ4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotWideK4Sub + dotWideQ5K],
]);

/**
 * dot32 against an int8 input block (the matvec tuning's int8Dot):
 * integer dot products of the weights' quants with the block that
 * matvec_fused quantized (shaders/dot/i8/act.wgsl: actq, act_d, act_qsum),
 * scales and mins once per (sub-)block in f32. Each comes after its type's
 * decode piece, whose byte helpers it may use.
 */
export const INT8_DOT_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.Q8_0, dotHelpers + dotWords + i8Helpers + i8Q80],
  [GgmlType.Q4_0, dotHelpers + dotWords + i8Helpers + i8Q40],
  [GgmlType.Q4_1, i8Helpers + i8Q41],
  [GgmlType.Q5_0, dotHelpers + dotWords + i8Helpers + i8Q5Words + i8Q50],
  [GgmlType.Q5_1, i8Helpers + i8Q5Words + i8Q51],
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotK4Sub + i8Helpers + i8Q4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotK4Sub + i8Helpers + i8Q5K],
  [GgmlType.Q6_K, dotHelpers + dotWords + dotQ6KSub + i8Helpers + i8Q6K],
]);

/**
 * The int8 dot32 with wide loads (as WIDE_DOT_PIECES) of the types that
 * have both: under int8Dot with wideLoads, these segments bind vec4<u32>;
 * the other int8 types keep their word pieces in the same dispatch.
 */
export const INT8_WIDE_DOT_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotWideK4Sub + i8Helpers + i8WideQ4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotWideK4Sub + i8Helpers + i8WideQ5K],
]);

/**
 * Whether a matvec over segments of these types and rows of `cols` inputs
 * takes the int8 pieces: every type has one and the rows are whole
 * 32-blocks (rows of 4-element blocks, DOT4, keep the f32 pieces).
 */
export function int8DotServes(types: readonly GgmlType[], cols: number): boolean {
  return cols % 32 === 0 && types.every((t) => INT8_DOT_PIECES.has(t));
}

/** The weight types that have a wide-load dot32 piece. */
export const WIDE_LOAD_TYPES: readonly GgmlType[] = [...WIDE_DOT_PIECES.keys()];

export function hasGpuDecoder(type: GgmlType): boolean {
  return DECODE_PIECES.has(type);
}

/** The byte helpers and the decode piece of one weight type. */
export function decodePiece(type: GgmlType): string {
  const piece = DECODE_PIECES.get(type);
  if (!piece) {
    throw new ClawError('clw-quant-unsupported', `no GPU decoder for tensor type ${ggmlTypeName(type)}`, {
      details: { type, typeName: ggmlTypeName(type) },
    });
  }
  return `${bytesPiece}\n${piece}`;
}

export function dotPiece(type: GgmlType): string {
  return DOT_PIECES.get(type) ?? dotGenericPiece;
}

