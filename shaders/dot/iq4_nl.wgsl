// IQ4_NL dot32: block b (18 bytes, laid out as Q4_0), each nibble an index
// into IQ4_LEVELS (from the decode piece); d applied once to the sum.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 18u;
  let qs = block + 2u;
  let q = dot_words4(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let lo = dot_nibbles(q[i], 0u);
    let hi = dot_nibbles(q[i], 4u);
    acc += dot(vec4<f32>(IQ4_LEVELS[lo.x], IQ4_LEVELS[lo.y], IQ4_LEVELS[lo.z], IQ4_LEVELS[lo.w]), act4(k + i));
    acc += dot(vec4<f32>(IQ4_LEVELS[hi.x], IQ4_LEVELS[hi.y], IQ4_LEVELS[hi.z], IQ4_LEVELS[hi.w]), act4(k + 4u + i));
  }
  return weight_f16_at(block) * acc;
}
