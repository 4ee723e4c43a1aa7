// F16 dot32: 16 whole words (two halves each, element 2i in the low half).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + b * 16u;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let o = w + 2u * i;
    acc += dot(vec4<f32>(unpack2x16float(weights[o]), unpack2x16float(weights[o + 1u])), act4(k + i));
  }
  return acc;
}
