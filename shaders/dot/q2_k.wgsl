// Q2_K dot32: sub-block j = b & 7 of super-block b >> 3 (84 bytes, word
// aligned: scales[16] words 0..3, qs[64] words 4..19, f16 d | f16 dmin
// word 20). Its 2-bit values are bits 2(j & 3) of the 32 bytes
// qs[32(j >> 2)..]; elements 0..15 and 16..31 have their own scale bytes
// 2j, 2j + 1 (low nibble scale, high nibble min). x = (d * sc) * q - dmin * mn.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 21u;
  let j = b & 7u;
  let dm = unpack2x16float(weights[w + 20u]);
  let scales = weights[w + (j >> 1u)] >> ((j & 1u) * 16u);
  let dl0 = vec4<f32>(dm.x * f32(scales & 15u));
  let ml0 = vec4<f32>(-(dm.y * f32((scales >> 4u) & 15u)));
  let dl1 = vec4<f32>(dm.x * f32((scales >> 8u) & 15u));
  let ml1 = vec4<f32>(-(dm.y * f32((scales >> 12u) & 15u)));
  let q = w + 4u + (j >> 2u) * 8u;
  let shift = DOT_BYTE_SHIFTS + 2u * (j & 3u);
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let v0 = vec4<f32>((vec4<u32>(weights[q + i]) >> shift) & vec4<u32>(3u));
    let v1 = vec4<f32>((vec4<u32>(weights[q + 4u + i]) >> shift) & vec4<u32>(3u));
    acc += dot(fma(v0, dl0, ml0), act4(k + i));
    acc += dot(fma(v1, dl1, ml1), act4(k + 4u + i));
  }
  return acc;
}
