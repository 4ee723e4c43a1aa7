// Q2_K dot32: sub-block j = b & 7 of super-block b >> 3 (84 bytes, word
// aligned: scales[16] words 0..3, qs[64] words 4..19, f16 d | f16 dmin
// word 20). Its 2-bit values are bits 2(j & 3) of the 32 bytes
// qs[32(j >> 2)..]; elements 0..15 and 16..31 have their own scale bytes
// 2j, 2j + 1 (low nibble scale, high nibble min). x = (d * sc) * q - dmin
// * mn per element (one fused multiply-add per 4, as the decode piece).

// Four elements from one qs word, scaled by (d * sc, -dmin * mn), dotted with a.
fn q2k_dot4(q: u32, shift: vec4<u32>, sm: vec2<f32>, a: vec4<f32>) -> f32 {
  return dot(fma(vec4<f32>((vec4<u32>(q) >> shift) & vec4<u32>(3u)), vec4<f32>(sm.x), vec4<f32>(sm.y)), a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 21u;
  let j = b & 7u;
  let dm = unpack2x16float(weights[w + 20u]);
  let sc = weights[w + (j >> 1u)] >> ((j & 1u) * 16u);
  let sm0 = vec2<f32>(dm.x * f32(sc & 15u), -(dm.y * f32((sc >> 4u) & 15u)));
  let sm1 = vec2<f32>(dm.x * f32((sc >> 8u) & 15u), -(dm.y * f32((sc >> 12u) & 15u)));
  let q = w + 4u + (j >> 2u) * 8u;
  let s = DOT_BYTE_SHIFTS + 2u * (j & 3u);
  let k = b * 8u;
  return q2k_dot4(weights[q], s, sm0, act4(k)) + q2k_dot4(weights[q + 1u], s, sm0, act4(k + 1u))
    + q2k_dot4(weights[q + 2u], s, sm0, act4(k + 2u)) + q2k_dot4(weights[q + 3u], s, sm0, act4(k + 3u))
    + q2k_dot4(weights[q + 4u], s, sm1, act4(k + 4u)) + q2k_dot4(weights[q + 5u], s, sm1, act4(k + 5u))
    + q2k_dot4(weights[q + 6u], s, sm1, act4(k + 6u)) + q2k_dot4(weights[q + 7u], s, sm1, act4(k + 7u));
}
