// Q4_0 int8 dot32: block b (18 bytes: f16 d, 16 bytes qs; low nibbles are
// elements 0..15, high nibbles 16..31). sum (q - 8) x = sum q x - 8 sum x,
// all in integers (|sum| <= 32 * 15 * 127 + 8 * 32 * 127), then times d
// and the input's d.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 18u;
  let qs = block + 2u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let qx = act_qsum();
  let s = i8_dot16(i8_nibbles(q, 0u), 0u) + i8_dot16(i8_nibbles(q, 4u), 4u) - 8 * (qx.x + qx.y);
  return (weight_f16_at(block) * act_d()) * f32(s);
}
