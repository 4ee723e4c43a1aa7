// Q4_1 dot32: block b (20 bytes, so word aligned: word 0 = f16 d | f16 m,
// words 1..4 qs, nibbles ordered as Q4_0); x = q * d + m per element (one
// fused multiply-add per 4, as the decode piece) before the dot.

// Word i of qs: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn q4_1_dot8(q: u32, dm: vec2<f32>, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  let d = vec4<f32>(dm.x);
  let m = vec4<f32>(dm.y);
  return dot(fma(vec4<f32>(dot_nibbles(q, 0u)), d, m), lo) + dot(fma(vec4<f32>(dot_nibbles(q, 4u)), d, m), hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 5u;
  let dm = unpack2x16float(weights[w]);
  let k = b * 8u;
  return q4_1_dot8(weights[w + 1u], dm, act4(k), act4(k + 4u)) + q4_1_dot8(weights[w + 2u], dm, act4(k + 1u), act4(k + 5u))
    + q4_1_dot8(weights[w + 3u], dm, act4(k + 2u), act4(k + 6u)) + q4_1_dot8(weights[w + 4u], dm, act4(k + 3u), act4(k + 7u));
}
