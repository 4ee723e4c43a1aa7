// IQ4_NL dot32: block b (18 bytes, laid out as Q4_0), each nibble an index
// into IQ4_LEVELS (from the decode piece); d applied once to the sum.

fn iq4_levels4(n: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(IQ4_LEVELS[n.x], IQ4_LEVELS[n.y], IQ4_LEVELS[n.z], IQ4_LEVELS[n.w]);
}

// Word i of qs: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn iq4_dot8(q: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(iq4_levels4(dot_nibbles(q, 0u)), lo) + dot(iq4_levels4(dot_nibbles(q, 4u)), hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 18u;
  let qs = block + 2u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  let acc = iq4_dot8(q.x, act4(k), act4(k + 4u)) + iq4_dot8(q.y, act4(k + 1u), act4(k + 5u))
    + iq4_dot8(q.z, act4(k + 2u), act4(k + 6u)) + iq4_dot8(q.w, act4(k + 3u), act4(k + 7u));
  return weight_f16_at(block) * acc;
}
