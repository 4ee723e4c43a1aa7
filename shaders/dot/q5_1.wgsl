// Q5_1 dot32: block b (24 bytes, word aligned: word 0 = f16 d | f16 m,
// word 1 qh, words 2..5 qs); fifth bits as Q5_0, x = q * d + m per element
// (one fused multiply-add per 4, as the decode piece) before the dot.
// Word i of qs with qh >> 4i: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn q5_1_dot8(q: u32, qh: u32, dm: vec2<f32>, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  let v_lo = (q & 0x0f0f0f0fu) | (spread_bits4(qh) << 4u);
  let v_hi = ((q >> 4u) & 0x0f0f0f0fu) | (spread_bits4(qh >> 16u) << 4u);
  let d = vec4<f32>(dm.x);
  let m = vec4<f32>(dm.y);
  return dot(fma(dot_u8x4(v_lo), d, m), lo) + dot(fma(dot_u8x4(v_hi), d, m), hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 6u;
  let dm = unpack2x16float(weights[w]);
  let qh = weights[w + 1u];
  let k = b * 8u;
  return q5_1_dot8(weights[w + 2u], qh, dm, act4(k), act4(k + 4u)) + q5_1_dot8(weights[w + 3u], qh >> 4u, dm, act4(k + 1u), act4(k + 5u))
    + q5_1_dot8(weights[w + 4u], qh >> 8u, dm, act4(k + 2u), act4(k + 6u)) + q5_1_dot8(weights[w + 5u], qh >> 12u, dm, act4(k + 3u), act4(k + 7u));
}
