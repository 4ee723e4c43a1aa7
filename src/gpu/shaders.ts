// The one shader assembler and the pipeline cache. A kernel is a WGSL file
// in shaders/; a matrix kernel says `//#include decode` where the weight
// type's decoding piece (shaders/decode/<type>.wgsl) goes, and constants
// (workgroup sizes, head size, flags) are injected as WGSL `const`s.
// Each weight type's pieces are in weight-pieces.ts.
// `//#include kv` and `//#include arith` take the KV cache access and tile
// arithmetic pieces of the arithmetic path (dtype): f32 everywhere, f16
// where the device has `shader-f16`.

import { ClawError } from '../errors';
import type { GgmlType } from '../gguf/types';
import type { Dtype } from './ops-api';
import { GRID_OF_TYPE, WGSL_GRID_TABLE } from './quant-tables';
import { decodePiece, dotPiece, INT8_DOT_PIECES, INT8_WIDE_DOT_PIECES, WIDE_DOT_PIECES } from './weight-pieces';
import kvF32Piece from '../../shaders/kv/f32.wgsl?raw';
import kvF16Piece from '../../shaders/kv/f16.wgsl?raw';
import stepPiece from '../../shaders/step.wgsl?raw';
import attentionDecodeCommonPiece from '../../shaders/attention_decode_common.wgsl?raw';
import attentionSplitPiece from '../../shaders/attention_split.wgsl?raw';
import ropeMathPiece from '../../shaders/rope_math.wgsl?raw';
import ropeStorePiece from '../../shaders/rope_store.wgsl?raw';
import f16BitsPiece from '../../shaders/f16_bits.wgsl?raw';
import gatedUnitPiece from '../../shaders/gated_unit.wgsl?raw';
import inPlacePiece from '../../shaders/in_place.wgsl?raw';
import elementwisePiece from '../../shaders/elementwise.wgsl?raw';
import gridPiece from '../../shaders/grid.wgsl?raw';
import stateHalvesPiece from '../../shaders/state_halves.wgsl?raw';
import matrixPiece from '../../shaders/matrix.wgsl?raw';
import rmsNormRowPiece from '../../shaders/rms_norm_row.wgsl?raw';
import workgroupSumPiece from '../../shaders/workgroup_sum.wgsl?raw';
import sampleBestPiece from '../../shaders/sample_best.wgsl?raw';
import activationsPiece from '../../shaders/activations.wgsl?raw';
import chunkMergePiece from '../../shaders/chunk_merge.wgsl?raw';
import kvF16NativePiece from '../../shaders/kv/f16_native.wgsl?raw';
import arithF32Piece from '../../shaders/arith/f32.wgsl?raw';
import arithF16Piece from '../../shaders/arith/f16.wgsl?raw';
import actI8Piece from '../../shaders/dot/i8/act.wgsl?raw';

const DECODE_MARKER = '//#include decode';

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
 * attention passes' parameters and key range), `attention_split` (the
 * Params of the batch path's split attention), `rope_math` (rotary angles,
 * sin/cos, pairs), `rope_store` (the decode step's rope parameters),
 * `f16_bits` (ggml's f32 -> f16 rounding), `act_i8` (matvec_fused's int8
 * input block, which the int8 dot pieces read), `gated_unit` (silu_mul and
 * gelu_mul but for their `activation`), `in_place` (the bindings of the
 * in-place two-operand elementwise kernels), `elementwise` (the entry point
 * of one-thread-per-element kernels, calling their `element(i)`), `grid`
 * (an invocation's index in a 2D grid), `matrix` (the Params and bindings
 * of GpuOps.matmul's kernels), `rms_norm_row` (the two rms_norm kernels'
 * Params, bindings and row loops), `workgroup_sum` (shared-memory sums over
 * the workgroup or segments of it),
 * `sample_best` (the GPU sampler's best-token order and workgroup reduction),
 * `activations` (safe_tanh, soft_cap, silu, gelu as ggml computes them),
 * `chunk_merge` (the online-softmax merge of split attention's chunks),
 * `state_halves` (where a recurrent state's call reads and writes it).
 */
// In this order: a piece may include one listed after it. Each is replaced
// once: the first `//#include name` line of the assembled text.
const SHARED_PIECES: Readonly<Record<string, string>> = {
  attention_decode_common: attentionDecodeCommonPiece,
  attention_split: attentionSplitPiece,
  step: stepPiece,
  rope_math: ropeMathPiece,
  rope_store: ropeStorePiece,
  f16_bits: f16BitsPiece,
  act_i8: actI8Piece,
  gated_unit: gatedUnitPiece,
  in_place: inPlacePiece,
  elementwise: elementwisePiece,
  grid: gridPiece,
  state_halves: stateHalvesPiece,
  matrix: matrixPiece,
  rms_norm_row: rmsNormRowPiece,
  workgroup_sum: workgroupSumPiece,
  sample_best: sampleBestPiece,
  activations: activationsPiece,
  chunk_merge: chunkMergePiece,
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
  /** Segments use their type's int8 dot32 (INT8_DOT_PIECES: every segment's type must have one; kernels that call only seg_dot32 and define act_i8's actq, act_d, act_qsum). */
  int8Dot?: boolean;
}

/**
 * Whether a kernel of these options decodes a lattice type, so reads the
 * grid table (bound at GRID_TABLE_BINDING: GpuOps.gridTable()).
 */
export function usesGridTable(opts: Pick<AssembleOptions, 'weightType' | 'segmentTypes'>): boolean {
  return (opts.weightType !== undefined && GRID_OF_TYPE.has(opts.weightType)) || (opts.segmentTypes ?? []).some((t) => GRID_OF_TYPE.has(t));
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
    if (opts.int8Dot && dot4) throw new ClawError('clw-llm-crash', 'int8 dot pieces serve whole 32-blocks only (the kernel calls seg_dot4)');
    body = body.replace(SEGMENTS_MARKER, types.map((t, i) => segmentPiece(t, i, !!opts.wideLoads, !!opts.int8Dot)).join('\n') + segmentDispatcher(types.length, dot4));
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

/**
 * Segment i: its binding and its type's pieces, every module-scope name
 * suffixed `_s<i>`; with `wide`, a WIDE_LOAD_TYPES type's vec4 binding and
 * wide dot32 alone (its decode piece reads words); with `int8`, its int8
 * dot32 (wide, where `wide` and the type has one; else after its decode
 * piece, whose helpers it uses).
 */
function segmentPiece(type: GgmlType, i: number, wide: boolean, int8: boolean): string {
  const widePieces = int8 ? INT8_WIDE_DOT_PIECES : WIDE_DOT_PIECES;
  const widePiece = wide ? widePieces.get(type) : undefined;
  let dot = dotPiece(type);
  if (int8) {
    const piece = INT8_DOT_PIECES.get(type);
    if (!piece) throw new ClawError('clw-llm-crash', `no int8 dot piece for segment type ${type}`);
    dot = piece;
  }
  const code = widePiece ?? `${decodePiece(type)}\n${dot}`;
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
