// Q4_0 dot32: sub-block b is block b (18 bytes: f16 d, 16 bytes qs; low
// nibbles are elements 0..15, high nibbles 16..31). qs is read as four
// words (five loads when half a word off), d applied once to the sum.
// Unrolled by hand: SwiftShader keeps a dynamically indexed vector in memory.

// Word i of qs: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn q4_0_dot8(q: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(vec4<f32>(dot_nibbles(q, 0u)) - 8.0, lo) + dot(vec4<f32>(dot_nibbles(q, 4u)) - 8.0, hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 18u;
  let qs = block + 2u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  let acc = q4_0_dot8(q.x, act4(k), act4(k + 4u)) + q4_0_dot8(q.y, act4(k + 1u), act4(k + 5u))
    + q4_0_dot8(q.z, act4(k + 2u), act4(k + 6u)) + q4_0_dot8(q.w, act4(k + 3u), act4(k + 7u));
  return weight_f16_at(block) * acc;
}
