// IQ3_S: super-blocks of 256 elements in 110 bytes: f16 d @0, grid index
// low bytes[64] @2 (4-wide entries, two per group of 8), qh[8] @66 (the
// 9th index bit of each entry of sub-block ib), sign bytes[32] @74 (one per
// group), scales[4] @106 (a nibble s per 32). x = (d * (1 + 2s)) * grid * sign.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 110u;
  let p = grid_place(k4);
  let h = p.first >> 2u; // which entry of the group
  let qh = weight_byte_at(block + 66u + p.ib);
  let index = weight_byte_at(block + 2u + 8u * p.ib + 2u * p.l + h) | ((qh << (8u - 2u * p.l - h)) & 256u);
  let s = (weight_byte_at(block + 106u + (p.ib >> 1u)) >> (4u * (p.ib & 1u))) & 15u;
  let db = weight_f16_at(block) * f32(1u + 2u * s);
  return db * grid4(index, 0u) * grid_signs4(weight_byte_at(block + 74u + 4u * p.ib + p.l), p.first);
}
