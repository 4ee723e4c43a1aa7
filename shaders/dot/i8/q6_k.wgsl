// Q6_K int8 dot32: the sub-block's words from q6k_sub (shaders/dot/
// q6_k_sub.wgsl, which says where its bits lie). Per half, sum (q - 32) x
// = sum q x - 32 sum x in integers (|sum| <= 16 * 63 * 127 + 32 * 16 * 127),
// then the two halves' scales in f32, times d and the input's d.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let q = q6k_sub(row_byte_base, b);
  let top = vec4<u32>(q.hshift);
  let two = vec4<u32>(0x03030303u);
  let v0 = i8_nibbles(q.ql[0], q.lshift) | (((q.qh[0] >> top) & two) << vec4<u32>(4u));
  let v1 = i8_nibbles(q.ql[1], q.lshift) | (((q.qh[1] >> top) & two) << vec4<u32>(4u));
  let qx = act_qsum();
  let acc0 = i8_dot16(v0, 0u) - 32 * qx.x;
  let acc1 = i8_dot16(v1, 4u) - 32 * qx.y;
  let d = q.d * act_d();
  return d * (q.scales.x * f32(acc0) + q.scales.y * f32(acc1));
}
