// BF16 dot32: 16 whole words; each half moved to the top of an f32 (exact).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 16u;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let o = w + 2u * i;
    let v = vec4<u32>(weights[o], weights[o], weights[o + 1u], weights[o + 1u]) << vec4<u32>(16u, 0u, 16u, 0u);
    acc += dot(bitcast<vec4<f32>>(v & vec4<u32>(0xffff0000u)), act4(k + i));
  }
  return acc;
}
