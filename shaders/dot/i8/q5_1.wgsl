// Q5_1 int8 dot32: block b (24 bytes, word aligned: word 0 = f16 d | f16 m,
// word 1 qh, words 2..5 qs); q as Q5_0 without the offset, d and m applied
// to two integer sums as Q4_1.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 6u;
  let dm = unpack2x16float(weights[w]);
  let v = i8_q5_words(vec4<u32>(weights[w + 2u], weights[w + 3u], weights[w + 4u], weights[w + 5u]), weights[w + 1u]);
  let qx = act_qsum();
  let s = i8_dot16(v[0], 0u) + i8_dot16(v[1], 4u);
  return act_d() * (dm.x * f32(s) + dm.y * f32(qx.x + qx.y));
}
