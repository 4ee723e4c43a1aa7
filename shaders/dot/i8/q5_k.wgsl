// Q5_K int8 dot32: sub-block j = b & 7 of super-block b >> 3 (176 bytes,
// word aligned: word 0 = f16 d | f16 dmin, words 1..3 scales as Q4_K,
// words 4..11 qh, 12..43 qs). Nibbles as Q4_K; bit j of each qh byte is
// the fifth bit, moved to bit 4 of its byte (|sum q x| <= 32 * 31 * 127).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_sub(row_byte_base, b, 44u, 12u);
  let sm = sub.sm;
  let q = sub.q;
  let s = sub.shift;
  let j = b & 7u;
  let h = sub.w + 4u;
  let bit = vec4<u32>(0x01010101u);
  let lo = i8_nibbles(vec4<u32>(weights[q], weights[q + 1u], weights[q + 2u], weights[q + 3u]), s)
    | (((vec4<u32>(weights[h], weights[h + 1u], weights[h + 2u], weights[h + 3u]) >> vec4<u32>(j)) & bit) << vec4<u32>(4u));
  let hi = i8_nibbles(vec4<u32>(weights[q + 4u], weights[q + 5u], weights[q + 6u], weights[q + 7u]), s)
    | (((vec4<u32>(weights[h + 4u], weights[h + 5u], weights[h + 6u], weights[h + 7u]) >> vec4<u32>(j)) & bit) << vec4<u32>(4u));
  let qx = act_qsum();
  return act_d() * (sm.x * f32(i8_dot16(lo, 0u) + i8_dot16(hi, 4u)) + sm.y * f32(qx.x + qx.y));
}
