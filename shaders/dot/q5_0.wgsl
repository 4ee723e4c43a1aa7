// Q5_0 dot32: block b (22 bytes at an even offset: f16 d, u32 qh, 16 bytes
// qs). Element j's fifth bit is bit j of qh; the bits of elements 4i..4i+3
// move to bit 4 of four bytes with one vector shift. d applied once.
const Q5_BIT_SHIFTS = vec4<u32>(0u, 1u, 2u, 3u);

// Word i of qs with qh >> 4i: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn q5_0_dot8(q: u32, qh: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  let h = vec4<u32>(qh);
  let h_lo = ((h >> Q5_BIT_SHIFTS) & vec4<u32>(1u)) << vec4<u32>(4u);
  let h_hi = ((h >> (Q5_BIT_SHIFTS + 16u)) & vec4<u32>(1u)) << vec4<u32>(4u);
  return dot(vec4<f32>(dot_nibbles(q, 0u) | h_lo) - 16.0, lo) + dot(vec4<f32>(dot_nibbles(q, 4u) | h_hi) - 16.0, hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 22u;
  let qh = weight_word_at(block + 2u);
  let qs = block + 6u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  let acc = q5_0_dot8(q.x, qh, act4(k), act4(k + 4u)) + q5_0_dot8(q.y, qh >> 4u, act4(k + 1u), act4(k + 5u))
    + q5_0_dot8(q.z, qh >> 8u, act4(k + 2u), act4(k + 6u)) + q5_0_dot8(q.w, qh >> 12u, act4(k + 3u), act4(k + 7u));
  return weight_f16_at(block) * acc;
}
