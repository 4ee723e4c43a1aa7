// F32 dot32: 32 whole words from the row's word offset, 8 dots.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 32u;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let o = w + 4u * i;
    let v = vec4<u32>(weights[o], weights[o + 1u], weights[o + 2u], weights[o + 3u]);
    acc += dot(bitcast<vec4<f32>>(v), act4(k + i));
  }
  return acc;
}
