// IQ2_XS: super-blocks of 256 elements in 74 bytes: f16 d @0, u16 qs[32]
// @2 (group g of 8: a 9-bit grid index, 7 sign bits on top), scales[8] @66
// (a nibble s per 16 elements). x = ((d * (0.5 + s)) * 0.25) * grid * sign.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 74u;
  let p = grid_place(k4);
  let q = weight_word_at(block + 2u + 2u * (4u * p.ib + p.l)) & 0xffffu;
  let s = (weight_byte_at(block + 66u + p.ib) >> (4u * (p.l >> 1u))) & 15u;
  let db = weight_f16_at(block) * (0.5 + f32(s)) * 0.25;
  return db * grid4(q & 511u, p.first) * grid_signs4(grid_sign_byte(q >> 9u), p.first);
}
