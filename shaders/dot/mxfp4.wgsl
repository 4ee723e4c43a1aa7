// MXFP4 dot32: block b (17 bytes, at any byte offset: u8 e, then 16 bytes
// qs laid out as IQ4_NL's, each nibble an index into FP4_LEVELS from the
// decode piece). The qs words are stitched (weight_word_at); the power-of-two
// scale d is applied once to the block's sum.

fn fp4_levels4(n: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(FP4_LEVELS[n.x], FP4_LEVELS[n.y], FP4_LEVELS[n.z], FP4_LEVELS[n.w]);
}

// Word i of qs: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn fp4_dot8(q: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(fp4_levels4(dot_nibbles(q, 0u)), lo) + dot(fp4_levels4(dot_nibbles(q, 4u)), hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 17u;
  let e = weight_byte_at(block);
  let d = bitcast<f32>(select(0x00200000u << e, (e - 1u) << 23u, e >= 2u));
  let qs = block + 1u;
  let k = b * 8u;
  let acc = fp4_dot8(weight_word_at(qs), act4(k), act4(k + 4u)) + fp4_dot8(weight_word_at(qs + 4u), act4(k + 1u), act4(k + 5u))
    + fp4_dot8(weight_word_at(qs + 8u), act4(k + 2u), act4(k + 6u)) + fp4_dot8(weight_word_at(qs + 12u), act4(k + 3u), act4(k + 7u));
  return d * acc;
}
