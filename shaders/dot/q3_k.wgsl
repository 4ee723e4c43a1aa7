// Q3_K dot32: sub-block j = b & 7 of super-block b >> 3 (110 bytes, at an
// even offset: hmask[32] @0, qs[64] @32, scales @96, f16 d @108). Its low
// two bits are bits 2(j & 3) of the 32 bytes qs[32(j >> 2)..], the third
// is bit j of hmask (set: q = low, clear: q = low - 4, i.e. q = (low |
// bit << 2) - 4); both 32-byte fields are nine loads (dot_words8).
// Elements 0..15 and 16..31 have their own scale (q3k_scale of the decode
// piece, indices 2j and 2j + 1).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 110u;
  let j = b & 7u;
  let half = (block & 2u) != 0u;
  let hm = dot_words8(block >> 2u, half);
  let qs = dot_words8((block + 32u + 32u * (j >> 2u)) >> 2u, half);
  let lshift = DOT_BYTE_SHIFTS + 2u * (j & 3u);
  let hshift = DOT_BYTE_SHIFTS + j;
  let k = b * 8u;
  var acc0 = 0.0;
  var acc1 = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let v0 = ((vec4<u32>(qs[0][i]) >> lshift) & vec4<u32>(3u)) | (((vec4<u32>(hm[0][i]) >> hshift) & vec4<u32>(1u)) << vec4<u32>(2u));
    let v1 = ((vec4<u32>(qs[1][i]) >> lshift) & vec4<u32>(3u)) | (((vec4<u32>(hm[1][i]) >> hshift) & vec4<u32>(1u)) << vec4<u32>(2u));
    acc0 += dot(vec4<f32>(v0) - 4.0, act4(k + i));
    acc1 += dot(vec4<f32>(v1) - 4.0, act4(k + 4u + i));
  }
  let d = weight_f16_at(block + 108u);
  return (d * (f32(q3k_scale(block, 2u * j)) - 32.0)) * acc0 + (d * (f32(q3k_scale(block, 2u * j + 1u)) - 32.0)) * acc1;
}
