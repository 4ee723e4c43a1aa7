// Q5_0 int8 dot32: block b (22 bytes at an even offset: f16 d, u32 qh, 16
// bytes qs); q = nibble | fifth bit << 4, minus 16 through the input's sum
// (|sum| <= 32 * 31 * 127 + 16 * 32 * 127), scaled once.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 22u;
  let qh = weight_word_at(block + 2u);
  let qs = block + 6u;
  let v = i8_q5_words(dot_words4(qs >> 2u, (qs & 2u) != 0u), qh);
  let qx = act_qsum();
  let s = i8_dot16(v[0], 0u) + i8_dot16(v[1], 4u) - 16 * (qx.x + qx.y);
  return (weight_f16_at(block) * act_d()) * f32(s);
}
