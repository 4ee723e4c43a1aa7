// The decode pass's projections as matvec_fused dispatches: how a list of
// matrices (and their parts, biases, norm, epilogue) maps to segments,
// parameters, bindings and a workgroup grid under the matvec tuning.
// DecodeRecorder (decode-ops.ts) records what these return.

import type { GgmlType } from '../gguf/types';
import type { DecodeKernelVariant } from './decode-ops';
import type { MatvecTuning } from './matvec-tuning';
import { badRequest, requireCapacity, type ActBuffer, type Projection, type WeightMatrix } from './ops-api';
import { SEGMENT_BINDING, usesGridTable, type ShaderDefines } from './shaders';
import { f32, u32, type ParamField } from './uniforms';
import { int8DotServes } from './weight-pieces';
import { weightRowBytes } from './weights';


/** Weight matrices per matvec_fused dispatch; with biases at most BIAS_SEGMENTS, whose biases bind from BIAS_BINDING. */
const SEGMENTS_MAX = 4;
const BIAS_SEGMENTS = 3;
const BIAS_BINDING = 20;
/** The step uniform a CONV dispatch reads its position from (after the segments' bindings). */
const CONV_STEP_BINDING = 19;

export interface MatvecDeps {
  /** The tuning of a projection site (matvecSite of its first matrix). */
  tuningFor(site: string): Readonly<MatvecTuning>;
  cpuEmulated: boolean;
  maxStorageBuffers: number;
  /** Bound where a segment has no bias. */
  placeholder: GPUBuffer;
  /** The decode pass's step buffer (the conv reads the position there: which halves of its state). */
  step: GPUBuffer;
  /** Workgroups for `wanted` units of work, capped and spread over x and y. */
  grid(wanted: number): [number, number];
}

export interface ProjectOptions {
  norm?: { weight: GPUBuffer; eps: number };
  accumulate?: boolean;
  softcap?: number;
  /** out[r] = gelu(W[r] . in) * gateIn[offset + r] (gemma4's per-layer input gate; one matrix). */
  gateIn?: { input: ActBuffer; offset: number };
  /** The block before's residual add, folded in (matvec_fused's PRE_ADD); see DecodeRecorder.addNormed. */
  preAdd?: PreAdd;
  /**
   * qwen35: the first matrix's rows are the channels of a causal depthwise
   * conv (CONV_K = taps), stored after it and SiLU, `state` (the last taps - 1
   * inputs per channel) moved on: ssm_conv in the epilogue.
   */
  conv?: { weight: GPUBuffer; state: GPUBuffer; taps: number };
}

/** x' = (x + rmsnorm(y) * weight) * scale as the input, x' also stored to `out` (the residual stream from then on). */
export interface PreAdd {
  y: GPUBuffer;
  weight: GPUBuffer;
  eps: number;
  scale: number;
  out: GPUBuffer;
}

/** Storage bindings PRE_ADD adds (y, its norm weight, the stored x'), and where x' is stored. */
const PRE_ADD_BINDINGS = 3;
export const PRE_OUT_BINDING = 7;

/** One matvec_fused dispatch, ready to record. */
export interface MatvecDispatch {
  variant: DecodeKernelVariant;
  params: ParamField[];
  buffers: [number, GPUBuffer][];
  groups: [number, number];
  /** The matrices it reads, by tensor name ('+' between them). */
  weights: string;
  /** Its projection site (matvecSite of its first matrix): the key of its tuning. */
  site: string;
}

/**
 * Where a projection sits in every layer: its first matrix's tensor name
 * without the block prefix (`ffn_down.weight` for `blk.3.ffn_down.weight`),
 * the key of a tuning per site.
 */
export function matvecSite(tensorName: string): string {
  return tensorName.replace(/^blk\.\d+\./, '');
}

/** DecodeOps.project: up to SEGMENTS_MAX matrices (or parts) per dispatch, as many as the storage-buffer limit allows. */
export function projectDispatches(deps: MatvecDeps, x: ActBuffer, projections: readonly Projection[], out: ActBuffer, o: ProjectOptions): MatvecDispatch[] {
  // Split matrices become one projection per part; parts of a matrix keep their rows.
  const pieces = projections.flatMap((p) =>
    p.w.parts.map((part) => ({ w: p.w, buffer: part.buffer, rows: part.rowCount, out: p.outOffset + part.firstRow, bias: p.bias, biasOffset: part.firstRow, split: p.split })),
  );
  for (const p of pieces) requireCols(x, p.w);
  const splitAt = pieces.findIndex((p) => p.split);
  if (splitAt > 0) throw badRequest('project: only the first projection may split its rows');
  const split = splitAt === 0 ? pieces[0].split! : null;
  if (split) {
    if (projections[0].w.parts.length !== 1) throw badRequest(`project: ${projections[0].w.name} is split into parts and cannot split its rows`);
    if (!(split.every > 0) || pieces[0].rows % (2 * split.every) !== 0) throw badRequest(`project: ${pieces[0].rows} rows do not alternate in blocks of ${split.every}`);
    requireCapacity(out, Math.max(pieces[0].out, split.out) + pieces[0].rows / 2, 'project out (split rows)');
  }
  const hasBias = pieces.some((p) => p.bias);
  if (o.conv) {
    if (projections[0].w.parts.length !== 1 || projections[0].outOffset !== 0 || projections[0].split || o.accumulate || o.softcap || o.gateIn) {
      throw badRequest('project: conv takes a first matrix of one part, stored as it is at the start of out');
    }
    if (!(Number.isInteger(o.conv.taps) && o.conv.taps >= 2 && o.conv.taps <= 8)) throw badRequest(`project: a conv of ${o.conv.taps} taps (2..8 supported)`);
  }
  if (o.gateIn) {
    if (pieces.length !== 1 || o.accumulate || o.softcap) throw badRequest('project: gateIn takes one matrix of one part, without accumulate or softcap');
    requireCapacity(o.gateIn.input, o.gateIn.offset + pieces[0].rows, 'project gateIn');
  }
  // Storage bindings besides the segments: x, out, the norm, gateIn, PRE_ADD's, the conv's, the grid table, and every bias slot when any has one.
  const fixed = 2 + (o.norm ? 1 : 0) + (o.gateIn ? 1 : 0) + (o.preAdd ? PRE_ADD_BINDINGS : 0) + (o.conv ? 2 : 0) + (usesGridTable({ segmentTypes: pieces.map((p) => p.w.type) }) ? 1 : 0) + (hasBias ? BIAS_SEGMENTS : 0);
  const segmentsPerDispatch = Math.max(1, Math.min(hasBias ? BIAS_SEGMENTS : SEGMENTS_MAX, deps.maxStorageBuffers - fixed));
  const dispatches: MatvecDispatch[] = [];
  for (let i = 0; i < pieces.length; i += segmentsPerDispatch) {
    const group = pieces.slice(i, i + segmentsPerDispatch);
    const cols = group[0].w.cols;
    if (group.some((p) => p.w.cols !== cols)) throw badRequest('project: every matrix must take the same input width');
    requireCapacity(out, Math.max(...group.map((p) => (p.split ? 0 : p.out + p.rows))), 'project out');
    const perSeg = (f: (p: (typeof group)[number]) => number) => Array.from({ length: SEGMENTS_MAX }, (_, k) => u32(k < group.length ? f(group[k]) : 0));
    const params = matvecParams({
      cols,
      hasBias: group.reduce((mask, p, k) => mask | (p.bias ? 1 << k : 0), 0),
      eps: o.norm?.eps ?? 0,
      softcap: o.softcap ?? 0,
      rows: perSeg((p) => p.rows),
      rowBytes: perSeg((p) => weightRowBytes(p.w.type, cols)),
      outAt: perSeg((p) => p.out),
      biasFrom: perSeg((p) => p.biasOffset),
      split: i === 0 && split ? split : undefined,
      mulAt: o.gateIn?.offset,
      preAdd: o.preAdd,
    });
    const buffers: [number, GPUBuffer][] = [
      [1, x.buffer],
      [2, out.buffer],
    ];
    if (o.norm) buffers.push([3, o.norm.weight]);
    if (o.gateIn) buffers.push([4, o.gateIn.input.buffer]);
    if (o.preAdd) buffers.push(...preAddBindings(o.preAdd));
    // The conv belongs to the first matrix: the first dispatch.
    const conv = i === 0 ? o.conv : undefined;
    if (conv) buffers.push([8, conv.weight], [9, conv.state], [CONV_STEP_BINDING, deps.step]);
    group.forEach((p, k) => buffers.push([SEGMENT_BINDING + k, p.buffer]));
    if (hasBias) for (let k = 0; k < BIAS_SEGMENTS; k++) buffers.push([BIAS_BINDING + k, group[k]?.bias ?? deps.placeholder]);
    const rows = group.reduce((n, p) => n + p.rows, 0);
    const segmentTypes = group.map((p) => p.w.type);
    const site = matvecSite(group[0].w.name);
    const t = deps.tuningFor(site);
    const int8 = int8Dot(t, segmentTypes, cols);
    dispatches.push({
      variant: {
        segmentTypes,
        wideLoads: wideLoads(t, cols),
        int8Dot: int8,
        defines: { ...matvecDefines(deps, t, cols, { NORM: !!o.norm, HAS_BIAS: hasBias, GATED: false, EPILOGUE: o.gateIn ? 4 : o.accumulate ? 1 : 0, GATE_IN: !!o.gateIn, PRE_ADD: !!o.preAdd, CONV: !!conv, INT8: int8 }), ...(conv ? { CONV_K: conv.taps } : {}) },
      },
      params,
      buffers,
      groups: matvecGrid(deps, t, rows, cols),
      weights: group.map((p) => p.w.name).join('+'),
      site,
    });
  }
  return dispatches;
}

/** DecodeOps.gatedProject: the FFN's norm, gate and up rows and activation in one dispatch. */
export function gatedDispatch(deps: MatvecDeps, x: ActBuffer, norm: { weight: GPUBuffer; eps: number }, gate: WeightMatrix, up: WeightMatrix, out: ActBuffer, activation: 'silu' | 'gelu', preAdd?: PreAdd): MatvecDispatch {
  requireCols(x, gate);
  requireCols(x, up);
  if (gate.rows !== up.rows || gate.cols !== up.cols) throw badRequest(`gatedProject: ${gate.name} and ${up.name} differ in shape`);
  requireCapacity(out, gate.rows, 'gatedProject out');
  if (gate.parts.length !== 1 || up.parts.length !== 1) {
    throw badRequest(`gatedProject: ${gate.name} is split into parts; the decode pass needs whole matrices`);
  }
  const rowBytes = (w: WeightMatrix) => weightRowBytes(w.type, w.cols);
  const site = matvecSite(gate.name);
  const t = deps.tuningFor(site);
  const int8 = int8Dot(t, [gate.type, up.type], gate.cols);
  return {
    variant: {
      segmentTypes: [gate.type, up.type],
      wideLoads: wideLoads(t, gate.cols),
      int8Dot: int8,
      defines: matvecDefines(deps, t, gate.cols, { NORM: true, HAS_BIAS: false, GATED: true, EPILOGUE: activation === 'silu' ? 2 : 3, GATE_IN: false, PRE_ADD: !!preAdd, CONV: false, INT8: int8 }),
    },
    params: matvecParams({
      cols: gate.cols,
      hasBias: 0,
      eps: norm.eps,
      softcap: 0,
      rows: [u32(gate.rows), u32(0), u32(0), u32(0)],
      rowBytes: [u32(rowBytes(gate)), u32(rowBytes(up)), u32(0), u32(0)],
      outAt: [u32(0), u32(0), u32(0), u32(0)],
      biasFrom: [u32(0), u32(0), u32(0), u32(0)],
      preAdd,
    }),
    buffers: [
      [1, x.buffer],
      [2, out.buffer],
      [3, norm.weight],
      [SEGMENT_BINDING, gate.parts[0].buffer],
      [SEGMENT_BINDING + 1, up.parts[0].buffer],
      ...(preAdd ? preAddBindings(preAdd) : []),
    ],
    groups: matvecGrid(deps, t, gate.rows, gate.cols),
    weights: `${gate.name}+${up.name}`,
    site,
  };
}

/** matvec_fused's Params, in its field order (four u32 per segment field: a vec4 each). */
function matvecParams(p: { cols: number; hasBias: number; eps: number; softcap: number; rows: ParamField[]; rowBytes: ParamField[]; outAt: ParamField[]; biasFrom: ParamField[]; split?: { every: number; out: number }; mulAt?: number; preAdd?: PreAdd }): ParamField[] {
  return [u32(p.cols), u32(p.hasBias), f32(p.eps), f32(p.softcap), ...p.rows, ...p.rowBytes, ...p.outAt, ...p.biasFrom, u32(p.split?.every ?? 0), u32(p.split?.out ?? 0), u32(p.mulAt ?? 0), f32(p.preAdd?.eps ?? 0), f32(p.preAdd?.scale ?? 1)];
}

function preAddBindings(p: PreAdd): [number, GPUBuffer][] {
  return [
    [5, p.y],
    [6, p.weight],
    [PRE_OUT_BINDING, p.out],
  ];
}

function matvecDefines(deps: MatvecDeps, t: Readonly<MatvecTuning>, cols: number, d: { NORM: boolean; HAS_BIAS: boolean; GATED: boolean; EPILOGUE: number; GATE_IN: boolean; PRE_ADD: boolean; CONV: boolean; INT8: boolean }): ShaderDefines {
  if (cols % 4 !== 0) throw badRequest(`a decode projection needs a multiple of 4 inputs, got ${cols}`);
  const lanes = matvecLanes(cols, deps.cpuEmulated, t);
  // The input tile: no longer than the row (rounded up to whole 32-blocks).
  const tile = Math.min(t.xTile, Math.ceil(cols / 32) * 32);
  return { WG: t.workgroup, LANES: lanes, RT: t.rowsPerBlock, DOT4: cols % 32 !== 0, SHARED_X: tile > 0, ...(tile > 0 ? { X_TILE: tile } : {}), ...d };
}

/** The int8 pieces (the tuning's int8Dot) serve where weight-pieces.ts says; other dispatches keep the f32 pieces. */
function int8Dot(t: Readonly<MatvecTuning>, types: readonly GgmlType[], cols: number): boolean {
  return t.int8Dot && int8DotServes(types, cols);
}

/** Wide weight loads (the tuning's) serve rows of whole 32-blocks. */
function wideLoads(t: Readonly<MatvecTuning>, cols: number): boolean {
  return t.wideLoads && cols % 32 === 0;
}

/** Workgroups of matvec_fused for `rows` rows of `cols` inputs: (WG / LANES) x RT rows each. */
function matvecGrid(deps: MatvecDeps, t: Readonly<MatvecTuning>, rows: number, cols: number): [number, number] {
  const rowsPerGroup = (t.workgroup / matvecLanes(cols, deps.cpuEmulated, t)) * t.rowsPerBlock;
  return deps.grid(Math.ceil(rows / rowsPerGroup));
}

/**
 * Threads per row block of matvec_fused: the row's blocks / blocksPerLane
 * (rounded down to a power of two), at most maxLanes, so long rows get many
 * threads and several row blocks share a workgroup. On a CPU emulation one
 * thread per row block: no barrier (each costs a context switch per
 * invocation there).
 */
export function matvecLanes(cols: number, cpuEmulated: boolean, tuning: Readonly<MatvecTuning>): number {
  if (cpuEmulated) return 1;
  const blocks = cols % 32 === 0 ? cols / 32 : cols / 4;
  return Math.min(tuning.maxLanes, tuning.workgroup, 2 ** Math.max(0, Math.floor(Math.log2(blocks / tuning.blocksPerLane))));
}

function requireCols(x: ActBuffer, w: WeightMatrix): void {
  requireCapacity(x, w.cols, `project ${w.name} x`);
}


