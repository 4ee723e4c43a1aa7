// Q4_K dot32: sub-block j = b & 7 of super-block b >> 3 (144 bytes; rows
// are whole super-blocks, so word aligned: word 0 = f16 d | f16 dmin,
// words 1..3 the scale bytes, words 4..35 qs). Scale and min once per
// sub-block; its 32 nibbles are the low (j even) or high (j odd) halves of
// words 4 + 8 * (j >> 1) .. +7. x = (d * scale) * q - dmin * min per
// element (one fused multiply-add per 4, as the decode piece).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 36u;
  let j = b & 7u;
  let sm = dot_k4_scale_min(unpack2x16float(weights[w]), weights[w + 1u], weights[w + 2u], weights[w + 3u], j);
  let dl = vec4<f32>(sm.x);
  let ml = vec4<f32>(sm.y);
  let q = w + 4u + (j >> 1u) * 8u;
  let shift = (j & 1u) * 4u;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    acc += dot(fma(vec4<f32>(dot_nibbles(weights[q + i], shift)), dl, ml), act4(k + i));
  }
  return acc;
}
