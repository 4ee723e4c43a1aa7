// Q4_1 dot32: block b (20 bytes, so word aligned: word 0 = f16 d | f16 m,
// words 1..4 qs, nibbles ordered as Q4_0); x = q * d + m per element (one
// fused multiply-add per 4, as the decode piece) before the dot.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 5u;
  let dm = unpack2x16float(weights[w]);
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let q = weights[w + 1u + i];
    acc += dot(fma(vec4<f32>(dot_nibbles(q, 0u)), vec4<f32>(dm.x), vec4<f32>(dm.y)), act4(k + i));
    acc += dot(fma(vec4<f32>(dot_nibbles(q, 4u)), vec4<f32>(dm.x), vec4<f32>(dm.y)), act4(k + 4u + i));
  }
  return acc;
}
