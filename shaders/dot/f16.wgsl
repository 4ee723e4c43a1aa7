// F16 dot32: 16 whole words (two halves each, element 2i in the low half).

fn f16_dot4(w: u32, a: vec4<f32>) -> f32 {
  return dot(vec4<f32>(unpack2x16float(weights[w]), unpack2x16float(weights[w + 1u])), a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 16u;
  let k = b * 8u;
  return f16_dot4(w, act4(k)) + f16_dot4(w + 2u, act4(k + 1u)) + f16_dot4(w + 4u, act4(k + 2u)) + f16_dot4(w + 6u, act4(k + 3u))
    + f16_dot4(w + 8u, act4(k + 4u)) + f16_dot4(w + 10u, act4(k + 5u)) + f16_dot4(w + 12u, act4(k + 6u)) + f16_dot4(w + 14u, act4(k + 7u));
}
