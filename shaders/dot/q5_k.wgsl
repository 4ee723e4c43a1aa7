// Q5_K dot32: sub-block j = b & 7 of super-block b >> 3 (176 bytes, word
// aligned: word 0 = f16 d | f16 dmin, words 1..3 scales as Q4_K, words
// 4..11 qh, 12..43 qs). Nibbles as Q4_K; bit j of each qh byte is the
// fifth bit, moved to bit 4 of its byte on the packed word.

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_sub(row_byte_base, b, 44u, 12u);
  let sm = sub.sm;
  let q = sub.q;
  let s = sub.shift;
  let j = b & 7u;
  let h = sub.w + 4u;
  let k = b * 8u;
  return q5k_dot4(weights[q], weights[h], s, j, sm, act4(k)) + q5k_dot4(weights[q + 1u], weights[h + 1u], s, j, sm, act4(k + 1u))
    + q5k_dot4(weights[q + 2u], weights[h + 2u], s, j, sm, act4(k + 2u)) + q5k_dot4(weights[q + 3u], weights[h + 3u], s, j, sm, act4(k + 3u))
    + q5k_dot4(weights[q + 4u], weights[h + 4u], s, j, sm, act4(k + 4u)) + q5k_dot4(weights[q + 5u], weights[h + 5u], s, j, sm, act4(k + 5u))
    + q5k_dot4(weights[q + 6u], weights[h + 6u], s, j, sm, act4(k + 6u)) + q5k_dot4(weights[q + 7u], weights[h + 7u], s, j, sm, act4(k + 7u));
}
