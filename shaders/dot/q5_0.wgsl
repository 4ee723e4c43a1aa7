// Q5_0 dot32: block b (22 bytes at an even offset: f16 d, u32 qh, 16 bytes
// qs). Element j's fifth bit is bit j of qh; the bits of elements 4i..4i+3
// move to bit 4 of four packed bytes (spread_bits4 of the decode helpers)
// before the word is unpacked. d applied once.

// Word i of qs with qh >> 4i: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn q5_0_dot8(q: u32, qh: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  let v_lo = (q & 0x0f0f0f0fu) | (spread_bits4(qh) << 4u);
  let v_hi = ((q >> 4u) & 0x0f0f0f0fu) | (spread_bits4(qh >> 16u) << 4u);
  return dot(dot_u8x4(v_lo) - 16.0, lo) + dot(dot_u8x4(v_hi) - 16.0, hi);
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
