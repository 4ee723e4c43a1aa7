// Q4_K dot32: sub-block j = b & 7 of super-block b >> 3 (144 bytes; rows
// are whole super-blocks, so word aligned: word 0 = f16 d | f16 dmin,
// words 1..3 the scale bytes, words 4..35 qs). Scale and min once per
// sub-block; its 32 nibbles are the low (j even) or high (j odd) halves of
// words 4 + 8 * (j >> 1) .. +7. x = (d * scale) * q - dmin * min per
// element (one fused multiply-add per 4, as the decode piece).

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_sub(row_byte_base, b, 36u, 4u);
  let sm = sub.sm;
  let q = sub.q;
  let s = sub.shift;
  let k = b * 8u;
  return q4k_dot4(weights[q], s, sm, act4(k)) + q4k_dot4(weights[q + 1u], s, sm, act4(k + 1u))
    + q4k_dot4(weights[q + 2u], s, sm, act4(k + 2u)) + q4k_dot4(weights[q + 3u], s, sm, act4(k + 3u))
    + q4k_dot4(weights[q + 4u], s, sm, act4(k + 4u)) + q4k_dot4(weights[q + 5u], s, sm, act4(k + 5u))
    + q4k_dot4(weights[q + 6u], s, sm, act4(k + 6u)) + q4k_dot4(weights[q + 7u], s, sm, act4(k + 7u));
}
