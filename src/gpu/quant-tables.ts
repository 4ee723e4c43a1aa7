// The tables of the IQ1/IQ2/IQ3 and FP4 decode pieces, from the CPU
// reference's own tables (src/quant/iq-grids.ts, src/quant/fp4.ts): one
// source for the values. The lattice grids are packed once, all six into
// one word array (GRID_TABLE_WORDS), which the GPU holds in one storage
// buffer per device (src/gpu/grid-table.ts); a piece reads its grid at its
// own base. A storage buffer, not a WGSL array: naga + lavapipe took 5 to
// 120 s per kernel to compile the grids as module-scope arrays (2026-11-29).

import { GgmlType } from '../gguf/types';
import { FP4_LEVELS } from '../quant/fp4';
import { IQ4_LEVELS } from '../quant/fit';
import { IQ1S_GRID, IQ2S_GRID, IQ2XS_GRID, IQ2XXS_GRID, IQ3S_GRID, IQ3XXS_GRID, type IqGrid } from '../quant/iq-grids';

/** The grid each lattice type decodes through (IQ1_S and IQ1_M share one). */
export const GRID_OF_TYPE: ReadonlyMap<GgmlType, IqGrid> = new Map([
  [GgmlType.IQ2_XXS, IQ2XXS_GRID],
  [GgmlType.IQ2_XS, IQ2XS_GRID],
  [GgmlType.IQ2_S, IQ2S_GRID],
  [GgmlType.IQ3_XXS, IQ3XXS_GRID],
  [GgmlType.IQ3_S, IQ3S_GRID],
  [GgmlType.IQ1_S, IQ1S_GRID],
  [GgmlType.IQ1_M, IQ1S_GRID],
]);

const GRIDS: readonly IqGrid[] = [...new Set(GRID_OF_TYPE.values())];
const GRID_BASES: ReadonlyMap<IqGrid, number> = new Map(GRIDS.map((g, i) => [g, GRIDS.slice(0, i).reduce((n, h) => n + h.packed.length, 0)]));

/** Every grid's packed entries, one after another (the storage buffer's contents). */
export const GRID_TABLE_WORDS: Uint32Array<ArrayBuffer> = (() => {
  const words = new Uint32Array(GRIDS.reduce((n, g) => n + g.packed.length, 0));
  for (const g of GRIDS) words.set(g.packed, GRID_BASES.get(g)!);
  return words;
})();

/** The binding of the grid table in every kernel that decodes a lattice type (above every other binding). */
export const GRID_TABLE_BINDING = 30;

/** The declaration of the grid table, once per kernel that decodes any lattice type. */
export const WGSL_GRID_TABLE = `@group(0) @binding(${GRID_TABLE_BINDING}) var<storage, read> iq_grids: array<u32>;\n`;

function f32List(values: readonly number[]): string {
  return values.map((v) => (Number.isInteger(v) ? `${v}.0` : String(v))).join(', ');
}

/** GRID_BASE (the grid's first word in iq_grids), GRID_BITS and GRID_LEVELS of one grid, as shaders/decode/iq_grid.wgsl reads them. */
export function wgslGrid(grid: IqGrid): string {
  return [
    `const GRID_BASE: u32 = ${GRID_BASES.get(grid)}u;`,
    `const GRID_BITS: u32 = ${grid.bits}u;`,
    `const GRID_LEVELS = array<f32, ${grid.levels.length}>(${f32List(grid.levels)});`,
    '',
  ].join('\n');
}

/** FP4_LEVELS: the E2M1 values (doubled) of MXFP4 and NVFP4 nibbles. */
export const WGSL_FP4_LEVELS = `const FP4_LEVELS = array<f32, 16>(${f32List(FP4_LEVELS)});\n`;

/** IQ4_LEVELS: the 16 signed levels of IQ4_NL and IQ4_XS nibbles (src/quant/fit.ts, llama.cpp's kvalues_iq4nl). */
export const WGSL_IQ4_LEVELS = `const IQ4_LEVELS = array<f32, 16>(${f32List(IQ4_LEVELS)});\n`;
