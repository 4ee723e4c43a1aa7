// IQ3_XXS: super-blocks of 256 elements in 98 bytes: f16 d @0, grid bytes
// [64] @2 (4-wide entries, two per group of 8), then per sub-block ib of 32
// a u32 of 4 x 7 sign bits with the 4-bit scale s on top (@66 + 4ib).
// x = ((d * (0.5 + s)) * 0.5) * grid * sign.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 98u;
  let p = grid_place(k4);
  let aux = weight_word_at(block + 66u + 4u * p.ib);
  let db = weight_f16_at(block) * (0.5 + f32(aux >> 28u)) * 0.5;
  let index = weight_byte_at(block + 2u + 8u * p.ib + 2u * p.l + (p.first >> 2u));
  let signs = grid_sign_byte((aux >> (7u * p.l)) & 127u);
  return db * grid4(index, 0u) * grid_signs4(signs, p.first);
}
