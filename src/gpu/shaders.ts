// The one shader assembler and the pipeline cache. A kernel is a WGSL file
// in shaders/; a matrix kernel says `//#include decode` where the weight
// type's decoding piece (shaders/decode/<type>.wgsl) goes, and constants
// (workgroup sizes, head size, flags) are injected as WGSL `const`s.
// Adding a weight type = one decode piece + one entry in DECODE_PIECES.
// `//#include kv` and `//#include arith` take the KV cache access and tile
// arithmetic pieces of the arithmetic path (dtype): f32 everywhere, f16
// where the device has `shader-f16`.

import { ClawError } from '../errors';
import { GgmlType, ggmlTypeName } from '../gguf/types';
import type { Dtype } from './ops-api';
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
import { GRID_OF_TYPE, WGSL_FP4_LEVELS, WGSL_GRID_TABLE, wgslGrid } from './quant-tables';
import kvF32Piece from '../../shaders/kv/f32.wgsl?raw';
import kvF16Piece from '../../shaders/kv/f16.wgsl?raw';
import dotGenericPiece from '../../shaders/dot/generic.wgsl?raw';
import dotHelpers from '../../shaders/dot/helpers.wgsl?raw';
import dotWords from '../../shaders/dot/words.wgsl?raw';
import dotWideF32 from '../../shaders/dot/wide/f32.wgsl?raw';
import dotWideF16 from '../../shaders/dot/wide/f16.wgsl?raw';
import dotWideQ4K from '../../shaders/dot/wide/q4_k.wgsl?raw';
import dotWideQ5K from '../../shaders/dot/wide/q5_k.wgsl?raw';
import dotKScale from '../../shaders/dot/kscale.wgsl?raw';
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
import stepPiece from '../../shaders/step.wgsl?raw';
import attentionDecodeCommonPiece from '../../shaders/attention_decode_common.wgsl?raw';
import ropeMathPiece from '../../shaders/rope_math.wgsl?raw';
import ropeStorePiece from '../../shaders/rope_store.wgsl?raw';
import f16BitsPiece from '../../shaders/f16_bits.wgsl?raw';
import kvF16NativePiece from '../../shaders/kv/f16_native.wgsl?raw';
import arithF32Piece from '../../shaders/arith/f32.wgsl?raw';
import arithF16Piece from '../../shaders/arith/f16.wgsl?raw';

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
  [GgmlType.IQ4_NL, nibblesHelpers + iq4_nlPiece],
  [GgmlType.IQ4_XS, nibblesHelpers + iq4_xsPiece],
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

const DECODE_MARKER = '//#include decode';

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
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotQ4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotQ5K],
  [GgmlType.Q6_K, dotHelpers + dotWords + dotQ6K],
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
const WIDE_DOT_PIECES: ReadonlyMap<GgmlType, string> = new Map([
  [GgmlType.F32, dotWideF32],
  [GgmlType.F16, dotHelpers + dotWideF16],
  [GgmlType.Q4_K, dotHelpers + dotKScale + dotWideQ4K],
  [GgmlType.Q5_K, dotHelpers + dotKScale + dotWideQ5K],
]);

/** The weight types that have a wide-load dot32 piece. */
export const WIDE_LOAD_TYPES: readonly GgmlType[] = [...WIDE_DOT_PIECES.keys()];

/**
 * `//#include segments` expands to NSEG weight matrices in one kernel, each
 * of its own type: bindings `weights_s<i>` at SEGMENT_BINDING + i, every
 * name of its decode and dot pieces suffixed `_s<i>`, and
 * `seg_dot32(seg, row_byte_base, b)` (or `seg_dot4`, 4 elements) choosing
 * among them.
 */
const SEGMENTS_MARKER = '//#include segments';
export const SEGMENT_BINDING = 10;

/**
 * Pieces any kernel may include by name: `//#include step` (the decode
 * pass's per-token uniform struct), `attention_decode_common` (the decode
 * attention passes' parameters and key range), `rope_math` (rotary angles,
 * sin/cos, pairs), `rope_store` (the decode step's rope parameters),
 * `f16_bits` (ggml's f32 -> f16 rounding).
 */
// In this order: a piece may include one listed after it.
const SHARED_PIECES: Readonly<Record<string, string>> = {
  attention_decode_common: attentionDecodeCommonPiece,
  step: stepPiece,
  rope_math: ropeMathPiece,
  rope_store: ropeStorePiece,
  f16_bits: f16BitsPiece,
};

/**
 * Each piece defines the KV cache's storage types `KvWord` and `KvVec4`,
 * `KV_PER_WORD`, and `kv_vec4` / `kv_element` that turn them into f32 (see
 * shaders/kv/f32.wgsl): the attention kernels read K and V only through them.
 * An f16 cache is read as packed u32 pairs on the f32 path (no `shader-f16`
 * needed) and as native f16 on the f16 path.
 */
const KV_PIECES = { f32: { f32: kvF32Piece, f16: kvF32Piece }, f16: { f32: kvF16Piece, f16: kvF16NativePiece } } as const;
const KV_MARKER = '//#include kv';

/** Each piece defines the tile element type `Tile` and `to_tile` (see shaders/arith/f32.wgsl). */
const ARITH_PIECES = { f32: arithF32Piece, f16: arithF16Piece } as const;
const ARITH_MARKER = '//#include arith';

export type ShaderDefines = Record<string, number | boolean>;

export interface AssembleOptions {
  /** Weight type whose decode piece replaces `//#include decode`. */
  weightType?: GgmlType;
  /** Types of the weight matrices of a `//#include segments` kernel, one per segment. */
  segmentTypes?: readonly GgmlType[];
  /** Injected as `const NAME: u32 = value;` (numbers must be non-negative integers) or `const NAME: bool`. */
  defines?: ShaderDefines;
  /** Element type of the KV cache whose access piece replaces `//#include kv` (default f32). */
  kvType?: 'f32' | 'f16';
  /** Arithmetic path (default f32): picks the `//#include arith` piece and how an f16 KV cache is read. */
  dtype?: Dtype;
  /** Segments of a WIDE_LOAD_TYPES type bind their weights as vec4<u32> and use the wide dot32 (kernels that call only seg_dot32). */
  wideLoads?: boolean;
}

/**
 * Whether a kernel of these options decodes a lattice type, so reads the
 * grid table (bound at GRID_TABLE_BINDING: GpuOps.gridTable()).
 */
export function usesGridTable(opts: Pick<AssembleOptions, 'weightType' | 'segmentTypes'>): boolean {
  return (opts.weightType !== undefined && GRID_OF_TYPE.has(opts.weightType)) || (opts.segmentTypes ?? []).some((t) => GRID_OF_TYPE.has(t));
}

export function hasGpuDecoder(type: GgmlType): boolean {
  return DECODE_PIECES.has(type);
}

export function assembleKernel(kernel: string, opts: AssembleOptions = {}): string {
  let body = preprocess(kernel, opts.defines ?? {});
  if (body.includes(DECODE_MARKER)) {
    if (opts.weightType === undefined) {
      throw new ClawError('clw-llm-crash', 'a matrix kernel was assembled without a weight type');
    }
    const dot = body.includes('dot32(') ? `\n${dotPiece(opts.weightType)}` : '';
    body = body.replace(DECODE_MARKER, `${decodePiece(opts.weightType)}${dot}`);
  }
  if (body.includes(SEGMENTS_MARKER)) {
    const types = opts.segmentTypes ?? [];
    if (types.length === 0) throw new ClawError('clw-llm-crash', 'a segment kernel was assembled without segment types');
    const dot4 = body.includes('seg_dot4(');
    if (dot4 && opts.wideLoads) throw new ClawError('clw-llm-crash', 'wide loads serve whole 32-blocks only (the kernel calls seg_dot4)');
    body = body.replace(SEGMENTS_MARKER, types.map((t, i) => segmentPiece(t, i, !!opts.wideLoads)).join('\n') + segmentDispatcher(types.length, dot4));
  }
  if (usesGridTable(opts)) body = WGSL_GRID_TABLE + body;
  const dtype = opts.dtype ?? 'f32';
  if (body.includes(KV_MARKER)) body = body.replace(KV_MARKER, KV_PIECES[opts.kvType ?? 'f32'][dtype]);
  if (body.includes(ARITH_MARKER)) body = body.replace(ARITH_MARKER, ARITH_PIECES[dtype]);
  for (const [name, piece] of Object.entries(SHARED_PIECES)) body = body.replace(`//#include ${name}\n`, `${piece}\n`);
  const consts = Object.entries(opts.defines ?? {}).map(([name, value]) => defineLine(name, value));
  // WGSL wants directives (`enable f16;`, `diagnostic(...)`) before any
  // declaration, and pieces bring their own: gather them at the top, once each.
  const directives = [...new Set(body.match(DIRECTIVE_LINES) ?? [])];
  if (consts.length === 0 && directives.length === 0) return body;
  return [...directives, ...consts, '', body.replace(DIRECTIVE_LINES, '')].join('\n');
}

/** The byte helpers and the decode piece of one weight type. */
function decodePiece(type: GgmlType): string {
  const piece = DECODE_PIECES.get(type);
  if (!piece) {
    throw new ClawError('clw-quant-unsupported', `no GPU decoder for tensor type ${ggmlTypeName(type)}`, {
      details: { type, typeName: ggmlTypeName(type) },
    });
  }
  return `${bytesPiece}\n${piece}`;
}

function dotPiece(type: GgmlType): string {
  return DOT_PIECES.get(type) ?? dotGenericPiece;
}

/**
 * Segment i: its binding and its type's pieces, every module-scope name
 * suffixed `_s<i>`; with `wide`, a WIDE_LOAD_TYPES type's vec4 binding and
 * wide dot32 alone (its decode piece reads words).
 */
function segmentPiece(type: GgmlType, i: number, wide: boolean): string {
  const widePiece = wide ? WIDE_DOT_PIECES.get(type) : undefined;
  const code = widePiece ?? `${decodePiece(type)}\n${dotPiece(type)}`;
  const names = new Set([...code.matchAll(/^\s*(?:fn|const|alias|struct|var<private>)\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]));
  names.add('weights');
  const renamed = code.replace(/\b[A-Za-z_][A-Za-z0-9_]*\b/g, (name) => (names.has(name) ? `${name}_s${i}` : name));
  const element = widePiece ? 'vec4<u32>' : 'u32';
  return `@group(0) @binding(${SEGMENT_BINDING + i}) var<storage, read> weights_s${i}: array<${element}>;\n${renamed}`;
}

/** seg_dot32 (and, for kernels that call it, seg_dot4: 4 elements, rows not of whole 32-blocks) choosing among the segments. */
function segmentDispatcher(count: number, dot4: boolean): string {
  const dispatch = (fn: string, call: (i: number) => string) => {
    const cases = Array.from({ length: count - 1 }, (_, i) => `    case ${i}u: { return ${call(i)}; }`);
    return `
fn ${fn}(seg: u32, row_byte_base: u32, b: u32) -> f32 {
  switch seg {
${cases.join('\n')}
    default: { return ${call(count - 1)}; }
  }
}
`;
  };
  return dispatch('seg_dot32', (i) => `dot32_s${i}(row_byte_base, b)`) + (dot4 ? dispatch('seg_dot4', (i) => `dot(decode4_s${i}(row_byte_base, b), act4(b))`) : '');
}

/**
 * `//#if NAME`, `//#if !NAME`, `//#else`, `//#endif` over boolean defines
 * (nestable): for code that differs in declarations, such as `enable
 * subgroups;`, which a WGSL const cannot switch.
 */
function preprocess(code: string, defines: ShaderDefines): string {
  if (!code.includes('//#if')) return code;
  const out: string[] = [];
  const stack: { active: boolean; parentActive: boolean }[] = [];
  let active = true;
  for (const line of code.split('\n')) {
    const directive = /^\s*\/\/#(if|else|endif)\b\s*(!?)([A-Z0-9_]*)/.exec(line);
    if (!directive) {
      if (active) out.push(line);
      continue;
    }
    const [, kind, negate, name] = directive;
    if (kind === 'if') {
      if (!(name in defines)) throw new ClawError('clw-llm-crash', `shader //#if on an undefined name ${name}`);
      const value = Boolean(defines[name]) !== (negate === '!');
      stack.push({ active: value, parentActive: active });
      active = active && value;
    } else {
      const top = stack[stack.length - 1];
      if (!top) throw new ClawError('clw-llm-crash', `shader //#${kind} without //#if`);
      if (kind === 'else') {
        top.active = !top.active;
        active = top.parentActive && top.active;
      } else {
        stack.pop();
        active = top.parentActive;
      }
    }
  }
  if (stack.length > 0) throw new ClawError('clw-llm-crash', 'shader //#if without //#endif');
  return out.join('\n');
}

const DIRECTIVE_LINES = /^(?:enable|requires|diagnostic)\b[^\n]*;[ \t]*$/gm;

function defineLine(name: string, value: number | boolean): string {
  if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
    throw new ClawError('clw-llm-crash', `shader define "${name}" is not an UPPER_CASE identifier`);
  }
  if (typeof value === 'boolean') return `const ${name}: bool = ${value};`;
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new ClawError('clw-llm-crash', `shader define ${name} = ${value} is not a u32`);
  }
  return `const ${name}: u32 = ${value}u;`;
}

/** Compute pipelines built once per assembled text (operation, type, variant). */
export class PipelineCache {
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(private readonly device: GPUDevice) {}

  get(code: string, label: string): GPUComputePipeline {
    let pipeline = this.pipelines.get(code);
    if (!pipeline) {
      const module = this.device.createShaderModule({ code, label });
      reportCompileErrors(module, label);
      pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
      this.pipelines.set(code, pipeline);
    }
    return pipeline;
  }

  /** The same, compiled off the calling thread (createComputePipelineAsync): many compile in parallel. */
  async getAsync(code: string, label: string): Promise<GPUComputePipeline> {
    const known = this.pipelines.get(code);
    if (known) return known;
    const module = this.device.createShaderModule({ code, label });
    reportCompileErrors(module, label);
    const pipeline = await this.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    this.pipelines.set(code, pipeline);
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }
}

/** WGSL errors otherwise only surface as an opaque invalid pipeline; log them with line numbers. */
function reportCompileErrors(module: GPUShaderModule, label: string): void {
  if (typeof module.getCompilationInfo !== 'function') return;
  module.getCompilationInfo().then(
    (info) => {
      for (const m of info.messages) {
        if (m.type === 'error') console.error(`webclaw: WGSL error in ${label} at ${m.lineNum}:${m.linePos}: ${m.message}`);
      }
    },
    () => undefined,
  );
}
