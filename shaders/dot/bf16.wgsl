// BF16 dot32: 16 whole words; each half moved to the top of an f32 (exact).

fn bf16_dot4(w: u32, a: vec4<f32>) -> f32 {
  let v = vec4<u32>(weights[w], weights[w], weights[w + 1u], weights[w + 1u]) << vec4<u32>(16u, 0u, 16u, 0u);
  return dot(bitcast<vec4<f32>>(v & vec4<u32>(0xffff0000u)), a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 16u;
  let k = b * 8u;
  return bf16_dot4(w, act4(k)) + bf16_dot4(w + 2u, act4(k + 1u)) + bf16_dot4(w + 4u, act4(k + 2u)) + bf16_dot4(w + 6u, act4(k + 3u))
    + bf16_dot4(w + 8u, act4(k + 4u)) + bf16_dot4(w + 10u, act4(k + 5u)) + bf16_dot4(w + 12u, act4(k + 6u)) + bf16_dot4(w + 14u, act4(k + 7u));
}
