// Q4_1 int8 dot32: block b (20 bytes, word aligned: word 0 = f16 d | f16 m,
// words 1..4 qs, nibbles ordered as Q4_0). sum (d q + m) x =
// d sum q x + m sum x: two integer sums, scaled once.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 5u;
  let dm = unpack2x16float(weights[w]);
  let q = vec4<u32>(weights[w + 1u], weights[w + 2u], weights[w + 3u], weights[w + 4u]);
  let qx = act_qsum();
  let s = i8_dot16(i8_nibbles(q, 0u), 0u) + i8_dot16(i8_nibbles(q, 4u), 4u);
  return act_d() * (dm.x * f32(s) + dm.y * f32(qx.x + qx.y));
}
