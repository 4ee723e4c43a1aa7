// F32 dot32: 32 whole words from the row's word offset, 8 dots (unrolled
// by hand, as every dot32 piece: SwiftShader runs loops with lane masks).

fn f32_dot4(w: u32, a: vec4<f32>) -> f32 {
  return dot(bitcast<vec4<f32>>(vec4<u32>(weights[w], weights[w + 1u], weights[w + 2u], weights[w + 3u])), a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 32u;
  let k = b * 8u;
  return f32_dot4(w, act4(k)) + f32_dot4(w + 4u, act4(k + 1u)) + f32_dot4(w + 8u, act4(k + 2u)) + f32_dot4(w + 12u, act4(k + 3u))
    + f32_dot4(w + 16u, act4(k + 4u)) + f32_dot4(w + 20u, act4(k + 5u)) + f32_dot4(w + 24u, act4(k + 6u)) + f32_dot4(w + 28u, act4(k + 7u));
}
