// Q4_0 dot32: sub-block b is block b (18 bytes: f16 d, 16 bytes qs; low
// nibbles are elements 0..15, high nibbles 16..31). qs is read as four
// words (five loads when half a word off), d applied once to the sum.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 18u;
  let qs = block + 2u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    acc += dot(vec4<f32>(dot_nibbles(q[i], 0u)) - 8.0, act4(k + i));
    acc += dot(vec4<f32>(dot_nibbles(q[i], 4u)) - 8.0, act4(k + 4u + i));
  }
  return weight_f16_at(block) * acc;
}
