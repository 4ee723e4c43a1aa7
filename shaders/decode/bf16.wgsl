// BF16 weights: 2 bytes per element, the top half of an f32. Rows hold a
// multiple of 4 elements, so elements 4k..4k+3 are two whole words; moving
// the 16 bits up is exact for every pattern (subnormals, signed zeros).
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let w = (row_byte_base >> 2u) + k4 * 2u;
  let a = weights[w];
  let b = weights[w + 1u];
  return vec4<f32>(
    bitcast<f32>(a << 16u),
    bitcast<f32>(a & 0xffff0000u),
    bitcast<f32>(b << 16u),
    bitcast<f32>(b & 0xffff0000u),
  );
}
