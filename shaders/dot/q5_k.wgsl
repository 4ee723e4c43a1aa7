// Q5_K dot32: sub-block j = b & 7 of super-block b >> 3 (176 bytes, word
// aligned: word 0 = f16 d | f16 dmin, words 1..3 scales as Q4_K, words
// 4..11 qh, 12..43 qs). Nibbles as Q4_K; bit j of each qh byte is the
// fifth bit, moved to bit 4 of its byte with one vector shift.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 44u;
  let j = b & 7u;
  let sm = dot_k4_scale_min(unpack2x16float(weights[w]), weights[w + 1u], weights[w + 2u], weights[w + 3u], j);
  let dl = vec4<f32>(sm.x);
  let ml = vec4<f32>(sm.y);
  let q = w + 12u + (j >> 1u) * 8u;
  let shift = (j & 1u) * 4u;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let high = ((vec4<u32>(weights[w + 4u + i]) >> (DOT_BYTE_SHIFTS + j)) & vec4<u32>(1u)) << vec4<u32>(4u);
    acc += dot(fma(vec4<f32>(dot_nibbles(weights[q + i], shift) | high), dl, ml), act4(k + i));
  }
  return acc;
}
