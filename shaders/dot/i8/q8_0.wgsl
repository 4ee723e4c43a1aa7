// Q8_0 int8 dot32: block b (34 bytes: f16 d, 32 signed bytes, words loaded
// as the f32 piece does) against the int8 input block: one integer sum
// (|sum| <= 32 * 128 * 127 < 2^24, exact in f32), times d and the input's d.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 34u;
  let qs = block + 2u;
  let q = dot_words8(qs >> 2u, (qs & 2u) != 0u);
  return (weight_f16_at(block) * act_d()) * f32(i8_dot16(q[0], 0u) + i8_dot16(q[1], 4u));
}
