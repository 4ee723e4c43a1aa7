// Q6_K dot32: sub-block j = b & 7 of super-block b >> 3 (210 bytes, at an
// even offset: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208).
// With h = j >> 2, g = j & 3, its low four bits are the low (g < 2) or high
// nibbles of the 32 bytes ql[64h + 32(g & 1)..], its top two bits 2g..2g+1
// of the 32 bytes qh[32h..] (nine loads each, dot_words8: every field is a
// multiple of 4 bytes from the block's start), q = that - 32. Elements
// 0..15 and 16..31 have their own scale: the two int8s at 192 + 8h + 2g.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 210u;
  let j = b & 7u;
  let h = j >> 2u;
  let g = j & 3u;
  let half = (block & 2u) != 0u;
  let ql = dot_words8((block + 64u * h + 32u * (g & 1u)) >> 2u, half);
  let qh = dot_words8((block + 128u + 32u * h) >> 2u, half);
  let lshift = (g >> 1u) * 4u;
  let hshift = DOT_BYTE_SHIFTS + 2u * g;
  let k = b * 8u;
  var acc0 = 0.0;
  var acc1 = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let v0 = dot_nibbles(ql[0][i], lshift) | (((vec4<u32>(qh[0][i]) >> hshift) & vec4<u32>(3u)) << vec4<u32>(4u));
    let v1 = dot_nibbles(ql[1][i], lshift) | (((vec4<u32>(qh[1][i]) >> hshift) & vec4<u32>(3u)) << vec4<u32>(4u));
    acc0 += dot(vec4<f32>(v0) - 32.0, act4(k + i));
    acc1 += dot(vec4<f32>(v1) - 32.0, act4(k + 4u + i));
  }
  let sc = block + 192u + 8u * h + 2u * g;
  let scales = bitcast<i32>(weights[sc >> 2u] >> ((sc & 2u) * 8u));
  let d = weight_f16_at(block + 208u);
  return (d * f32((scales << 24u) >> 24u)) * acc0 + (d * f32((scales << 16u) >> 24u)) * acc1;
}
