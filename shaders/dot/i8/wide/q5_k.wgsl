// Q5_K int8 dot32, wide loads (`weights: array<vec4<u32>>`; the layout as
// shaders/dot/wide/q5_k.wgsl: vec4 0 d, dmin and the scales, vec4s 1..2
// the qh bytes, vec4s 3 + 2p and 4 + 2p the nibbles of sub-blocks 2p and
// 2p + 1): five loads per sub-block, the sums as shaders/dot/i8/q5_k.wgsl.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_wide_sub(row_byte_base, b, 11u);
  let v = sub.v;
  let sm = sub.sm;
  let j = b & 7u;
  let s = (j & 1u) * 4u;
  let bit = vec4<u32>(0x01010101u);
  let lo = i8_nibbles(weights[v + 3u + (j >> 1u) * 2u], s) | (((weights[v + 1u] >> vec4<u32>(j)) & bit) << vec4<u32>(4u));
  let hi = i8_nibbles(weights[v + 4u + (j >> 1u) * 2u], s) | (((weights[v + 2u] >> vec4<u32>(j)) & bit) << vec4<u32>(4u));
  let qx = act_qsum();
  return act_d() * (sm.x * f32(i8_dot16(lo, 0u) + i8_dot16(hi, 4u)) + sm.y * f32(qx.x + qx.y));
}
