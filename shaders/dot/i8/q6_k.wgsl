// Q6_K int8 dot32: sub-block j = b & 7 of super-block b >> 3 (210 bytes at
// an even offset: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d
// @208; which bits of which bytes as the f32 piece, shaders/dot/q6_k.wgsl).
// Elements 0..15 and 16..31 have their own scale: per half, sum (q - 32) x
// = sum q x - 32 sum x in integers (|sum| <= 16 * 63 * 127 + 32 * 16 * 127),
// then the two halves' scales in f32, times d and the input's d.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 210u;
  let j = b & 7u;
  let h = j >> 2u;
  let g = j & 3u;
  let half = (block & 2u) != 0u;
  let ql = dot_words8((block + 64u * h + 32u * (g & 1u)) >> 2u, half);
  let qh = dot_words8((block + 128u + 32u * h) >> 2u, half);
  let l = (g >> 1u) * 4u;
  let top = vec4<u32>(2u * g);
  let two = vec4<u32>(0x03030303u);
  let v0 = i8_nibbles(ql[0], l) | (((qh[0] >> top) & two) << vec4<u32>(4u));
  let v1 = i8_nibbles(ql[1], l) | (((qh[1] >> top) & two) << vec4<u32>(4u));
  let qx = act_qsum();
  let acc0 = i8_dot16(v0, 0u) - 32 * qx.x;
  let acc1 = i8_dot16(v1, 4u) - 32 * qx.y;
  let sc = block + 192u + 8u * h + 2u * g;
  let scales = bitcast<i32>(weights[sc >> 2u] >> ((sc & 2u) * 8u));
  let d = weight_f16_at(block + 208u) * act_d();
  return d * (f32((scales << 24u) >> 24u) * f32(acc0) + f32((scales << 16u) >> 24u) * f32(acc1));
}
