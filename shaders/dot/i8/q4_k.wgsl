// Q4_K int8 dot32: sub-block j = b & 7 of super-block b >> 3 (144 bytes,
// word aligned: word 0 = f16 d | f16 dmin, words 1..3 scales, words 4..35
// qs; the sub-block's nibbles are the low (j even) or high (j odd) halves
// of words 4 + 8 * (j >> 1) .. +7, element 4i + c in byte c of word i).
// sum (d sc q - dmin mn) x = d sc sum q x - dmin mn sum x: two integer
// sums (|sum q x| <= 32 * 15 * 127), scale and min once.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_sub(row_byte_base, b, 36u, 4u);
  let sm = sub.sm;
  let q = sub.q;
  let s = sub.shift;
  let lo = i8_nibbles(vec4<u32>(weights[q], weights[q + 1u], weights[q + 2u], weights[q + 3u]), s);
  let hi = i8_nibbles(vec4<u32>(weights[q + 4u], weights[q + 5u], weights[q + 6u], weights[q + 7u]), s);
  let qx = act_qsum();
  return act_d() * (sm.x * f32(i8_dot16(lo, 0u) + i8_dot16(hi, 4u)) + sm.y * f32(qx.x + qx.y));
}
