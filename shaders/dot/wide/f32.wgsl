// F32 dot32, wide loads: the kernel binds `weights: array<vec4<u32>>`; a
// row of a whole number of 32-blocks starts on 16 bytes, so a sub-block is
// 8 whole vec4 loads.

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let v = (row_byte_base >> 4u) + b * 8u;
  let k = b * 8u;
  return dot(bitcast<vec4<f32>>(weights[v]), act4(k)) + dot(bitcast<vec4<f32>>(weights[v + 1u]), act4(k + 1u))
    + dot(bitcast<vec4<f32>>(weights[v + 2u]), act4(k + 2u)) + dot(bitcast<vec4<f32>>(weights[v + 3u]), act4(k + 3u))
    + dot(bitcast<vec4<f32>>(weights[v + 4u]), act4(k + 4u)) + dot(bitcast<vec4<f32>>(weights[v + 5u]), act4(k + 5u))
    + dot(bitcast<vec4<f32>>(weights[v + 6u]), act4(k + 6u)) + dot(bitcast<vec4<f32>>(weights[v + 7u]), act4(k + 7u));
}
