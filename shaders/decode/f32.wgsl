// F32 weights: 4 bytes per element, rows start on word boundaries.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let w = (row_byte_base >> 2u) + k4 * 4u;
  return vec4<f32>(
    bitcast<f32>(weights[w]),
    bitcast<f32>(weights[w + 1u]),
    bitcast<f32>(weights[w + 2u]),
    bitcast<f32>(weights[w + 3u]),
  );
}
