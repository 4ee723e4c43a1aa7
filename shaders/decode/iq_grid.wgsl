// Shared by the lattice pieces (IQ1/IQ2/IQ3). The including piece comes
// after the type's grid constants, generated from src/quant/iq-grids.ts
// (src/gpu/quant-tables.ts): GRID_BASE (where the type's grid starts in the
// kernel's `iq_grids` table, two 16-bit entries per word, the even entry
// low), GRID_BITS (bits per element code) and GRID_LEVELS (code -> value).

// Elements first .. first+3 of grid entry `index`, as values.
fn grid4(index: u32, first: u32) -> vec4<f32> {
  let entry = (iq_grids[GRID_BASE + (index >> 1u)] >> (16u * (index & 1u))) >> (GRID_BITS * first);
  let codes = (vec4<u32>(entry) >> (vec4<u32>(0u, 1u, 2u, 3u) * GRID_BITS)) & vec4<u32>((1u << GRID_BITS) - 1u);
  return vec4<f32>(GRID_LEVELS[codes.x], GRID_LEVELS[codes.y], GRID_LEVELS[codes.z], GRID_LEVELS[codes.w]);
}

// A 7-bit sign field stands for 8 sign bits: the eighth makes their count even.
fn grid_sign_byte(s7: u32) -> u32 {
  return s7 | ((countOneBits(s7) & 1u) << 7u);
}

// +1 or -1 for bits first .. first+3 of `signs` (a set bit is negative).
fn grid_signs4(signs: u32, first: u32) -> vec4<f32> {
  let bits = (vec4<u32>(signs >> first) >> vec4<u32>(0u, 1u, 2u, 3u)) & vec4<u32>(1u);
  return vec4<f32>(1.0) - 2.0 * vec4<f32>(bits);
}

// Byte offset of the 4 elements e .. e+3 of a 256-element super-block: its
// sub-block of 32 (ib), group of 8 (l) and half of the group (first: 0 or 4).
struct GridPlace {
  ib: u32,
  l: u32,
  first: u32,
}

fn grid_place(k4: u32) -> GridPlace {
  let e = (k4 & 63u) * 4u;
  return GridPlace(e >> 5u, (e >> 3u) & 3u, e & 4u);
}
