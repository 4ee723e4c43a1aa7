// IQ2_S: super-blocks of 256 elements in 82 bytes: f16 d @0, grid index
// low bytes[32] @2 and sign bytes[32] @34 (one per group of 8), qh[8] @66
// (2 high index bits per group), scales[8] @74 (a nibble s per 16
// elements). x = ((d * (0.5 + s)) * 0.25) * grid * sign.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 82u;
  let p = grid_place(k4);
  let g = 4u * p.ib + p.l;
  let qh = weight_byte_at(block + 66u + p.ib);
  let index = weight_byte_at(block + 2u + g) | ((qh << (8u - 2u * p.l)) & 0x300u);
  let s = (weight_byte_at(block + 74u + p.ib) >> (4u * (p.l >> 1u))) & 15u;
  let db = weight_f16_at(block) * (0.5 + f32(s)) * 0.25;
  return db * grid4(index, p.first) * grid_signs4(weight_byte_at(block + 34u + g), p.first);
}
