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
import kvF32Piece from '../../shaders/kv/f32.wgsl?raw';
import kvF16Piece from '../../shaders/kv/f16.wgsl?raw';
import kvF16NativePiece from '../../shaders/kv/f16_native.wgsl?raw';
import arithF32Piece from '../../shaders/arith/f32.wgsl?raw';
import arithF16Piece from '../../shaders/arith/f16.wgsl?raw';

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
]);

const DECODE_MARKER = '//#include decode';

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
  /** Injected as `const NAME: u32 = value;` (numbers must be non-negative integers) or `const NAME: bool`. */
  defines?: ShaderDefines;
  /** Element type of the KV cache whose access piece replaces `//#include kv` (default f32). */
  kvType?: 'f32' | 'f16';
  /** Arithmetic path (default f32): picks the `//#include arith` piece and how an f16 KV cache is read. */
  dtype?: Dtype;
}

export function hasGpuDecoder(type: GgmlType): boolean {
  return DECODE_PIECES.has(type);
}

export function assembleKernel(kernel: string, opts: AssembleOptions = {}): string {
  let body = kernel;
  if (kernel.includes(DECODE_MARKER)) {
    if (opts.weightType === undefined) {
      throw new ClawError('clw-llm-crash', 'a matrix kernel was assembled without a weight type');
    }
    const piece = DECODE_PIECES.get(opts.weightType);
    if (!piece) {
      throw new ClawError('clw-quant-unsupported', `no GPU decoder for tensor type ${ggmlTypeName(opts.weightType)}`, {
        details: { type: opts.weightType, typeName: ggmlTypeName(opts.weightType) },
      });
    }
    body = body.replace(DECODE_MARKER, `${bytesPiece}\n${piece}`);
  }
  const dtype = opts.dtype ?? 'f32';
  if (body.includes(KV_MARKER)) body = body.replace(KV_MARKER, KV_PIECES[opts.kvType ?? 'f32'][dtype]);
  if (body.includes(ARITH_MARKER)) body = body.replace(ARITH_MARKER, ARITH_PIECES[dtype]);
  const consts = Object.entries(opts.defines ?? {}).map(([name, value]) => defineLine(name, value));
  // WGSL wants directives (`enable f16;`, `diagnostic(...)`) before any
  // declaration, and pieces bring their own: gather them at the top, once each.
  const directives = [...new Set(body.match(DIRECTIVE_LINES) ?? [])];
  if (consts.length === 0 && directives.length === 0) return body;
  return [...directives, ...consts, '', body.replace(DIRECTIVE_LINES, '')].join('\n');
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
