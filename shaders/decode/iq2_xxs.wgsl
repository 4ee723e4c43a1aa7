// IQ2_XXS: super-blocks of 256 elements in 66 bytes: f16 d @0, then per
// sub-block ib of 32 a u32 of 4 grid indices (one per group of 8) and a u32
// of 4 x 7 sign bits with the 4-bit scale s on top (@2 + 8ib).
// x = ((d * (0.5 + s)) * 0.25) * grid * sign: every product exact in f32.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 66u;
  let p = grid_place(k4);
  let q = block + 2u + 8u * p.ib;
  let aux = weight_word_at(q + 4u);
  let db = weight_f16_at(block) * (0.5 + f32(aux >> 28u)) * 0.25;
  let signs = grid_sign_byte((aux >> (7u * p.l)) & 127u);
  return db * grid4(weight_byte_at(q + p.l), p.first) * grid_signs4(signs, p.first);
}
