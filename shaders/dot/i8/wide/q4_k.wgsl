// Q4_K int8 dot32, wide loads (`weights: array<vec4<u32>>`; the layout as
// shaders/dot/wide/q4_k.wgsl: vec4 0 of a super-block holds d, dmin and
// the scales, vec4s 1 + 2p and 2 + 2p the nibbles of sub-blocks 2p and
// 2p + 1): three loads per sub-block, the sums as shaders/dot/i8/q4_k.wgsl.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_wide_sub(row_byte_base, b, 9u);
  let v = sub.v;
  let sm = sub.sm;
  let j = b & 7u;
  let s = (j & 1u) * 4u;
  let lo = i8_nibbles(weights[v + 1u + (j >> 1u) * 2u], s);
  let hi = i8_nibbles(weights[v + 2u + (j >> 1u) * 2u], s);
  let qx = act_qsum();
  return act_d() * (sm.x * f32(i8_dot16(lo, 0u) + i8_dot16(hi, 4u)) + sm.y * f32(qx.x + qx.y));
}
