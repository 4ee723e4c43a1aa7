// Q5_1 dot32: block b (24 bytes, word aligned: word 0 = f16 d | f16 m,
// word 1 qh, words 2..5 qs); fifth bits as Q5_0, x = q * d + m per element.
const Q5_BIT_SHIFTS = vec4<u32>(0u, 1u, 2u, 3u);

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 6u;
  let dm = unpack2x16float(weights[w]);
  let qh = weights[w + 1u];
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let q = weights[w + 2u + i];
    let h_lo = ((vec4<u32>(qh) >> (Q5_BIT_SHIFTS + 4u * i)) & vec4<u32>(1u)) << vec4<u32>(4u);
    let h_hi = ((vec4<u32>(qh) >> (Q5_BIT_SHIFTS + 16u + 4u * i)) & vec4<u32>(1u)) << vec4<u32>(4u);
    acc += dot(fma(vec4<f32>(dot_nibbles(q, 0u) | h_lo), vec4<f32>(dm.x), vec4<f32>(dm.y)), act4(k + i));
    acc += dot(fma(vec4<f32>(dot_nibbles(q, 4u) | h_hi), vec4<f32>(dm.x), vec4<f32>(dm.y)), act4(k + 4u + i));
  }
  return acc;
}
