// F16 weights: 2 bytes per element; rows have a multiple of 4 elements, so
// elements 4k..4k+3 are two whole words. unpack2x16float needs no shader-f16.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let w = (row_byte_base >> 2u) + k4 * 2u;
  return vec4<f32>(unpack2x16float(weights[w]), unpack2x16float(weights[w + 1u]));
}
