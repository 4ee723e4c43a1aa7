// Q5_0 dot32: block b (22 bytes at an even offset: f16 d, u32 qh, 16 bytes
// qs). Element j's fifth bit is bit j of qh; the bits of elements 4i..4i+3
// move to bit 4 of four bytes with one vector shift. d applied once.
const Q5_BIT_SHIFTS = vec4<u32>(0u, 1u, 2u, 3u);

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 22u;
  let qh = weight_word_at(block + 2u);
  let qs = block + 6u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let h_lo = ((vec4<u32>(qh) >> (Q5_BIT_SHIFTS + 4u * i)) & vec4<u32>(1u)) << vec4<u32>(4u);
    let h_hi = ((vec4<u32>(qh) >> (Q5_BIT_SHIFTS + 16u + 4u * i)) & vec4<u32>(1u)) << vec4<u32>(4u);
    acc += dot(vec4<f32>(dot_nibbles(q[i], 0u) | h_lo) - 16.0, act4(k + i));
    acc += dot(vec4<f32>(dot_nibbles(q[i], 4u) | h_hi) - 16.0, act4(k + 4u + i));
  }
  return weight_f16_at(block) * acc;
}
