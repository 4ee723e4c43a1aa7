// The constant tables of the IQ1/IQ2/IQ3 and FP4 decode pieces, written as
// WGSL from the CPU reference's own tables (src/quant/iq-grids.ts,
// src/quant/fp4.ts): one source for the values, packed once per type.

import { FP4_LEVELS } from '../quant/fp4';
import type { IqGrid } from '../quant/iq-grids';

function f32List(values: readonly number[]): string {
  return values.map((v) => (Number.isInteger(v) ? `${v}.0` : String(v))).join(', ');
}

/** GRID (packed entries), GRID_BITS and GRID_LEVELS of one grid, as shaders/decode/iq_grid.wgsl reads them. */
export function wgslGrid(grid: IqGrid): string {
  const words = Array.from(grid.packed, (w) => `0x${w.toString(16)}u`);
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 16) lines.push(`  ${words.slice(i, i + 16).join(', ')},`);
  return [
    `const GRID_BITS: u32 = ${grid.bits}u;`,
    `const GRID_LEVELS = array<f32, ${grid.levels.length}>(${f32List(grid.levels)});`,
    // A private variable, not a const: naga spills a dynamically indexed const array into a local copy
    // per function call, which lavapipe took minutes to compile for the 1024-word IQ1 grid.
    `var<private> GRID: array<u32, ${words.length}> = array<u32, ${words.length}>(`,
    ...lines,
    ');',
    '',
  ].join('\n');
}

/** FP4_LEVELS: the E2M1 values (doubled) of MXFP4 and NVFP4 nibbles. */
export const WGSL_FP4_LEVELS = `const FP4_LEVELS = array<f32, 16>(${f32List(FP4_LEVELS)});\n`;
