// Q3_K dot32: sub-block j = b & 7 of super-block b >> 3 (110 bytes, at an
// even offset: hmask[32] @0, qs[64] @32, scales @96, f16 d @108). Its low
// two bits are bits 2(j & 3) of the 32 bytes qs[32(j >> 2)..], the third
// is bit j of hmask (set: q = low, clear: q = low - 4, i.e. q = (low |
// bit << 2) - 4); both 32-byte fields are nine loads (dot_words8).
// Elements 0..15 and 16..31 have their own scale (q3k_scale of the decode
// piece, indices 2j and 2j + 1).

// Four elements from one qs word and one hmask word (combined while
// packed, then unpacked once), dotted with a.
fn q3k_dot4(qs: u32, hm: u32, lshift: u32, hshift: u32, a: vec4<f32>) -> f32 {
  let v = ((qs >> lshift) & 0x03030303u) | (((hm >> hshift) & 0x01010101u) << 2u);
  return dot(dot_u8x4(v) - 4.0, a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 110u;
  let j = b & 7u;
  let half = (block & 2u) != 0u;
  let hm = dot_words8(block >> 2u, half);
  let qs = dot_words8((block + 32u + 32u * (j >> 2u)) >> 2u, half);
  let l = 2u * (j & 3u);
  let h = j;
  let k = b * 8u;
  let acc0 = q3k_dot4(qs[0].x, hm[0].x, l, h, act4(k)) + q3k_dot4(qs[0].y, hm[0].y, l, h, act4(k + 1u))
    + q3k_dot4(qs[0].z, hm[0].z, l, h, act4(k + 2u)) + q3k_dot4(qs[0].w, hm[0].w, l, h, act4(k + 3u));
  let acc1 = q3k_dot4(qs[1].x, hm[1].x, l, h, act4(k + 4u)) + q3k_dot4(qs[1].y, hm[1].y, l, h, act4(k + 5u))
    + q3k_dot4(qs[1].z, hm[1].z, l, h, act4(k + 6u)) + q3k_dot4(qs[1].w, hm[1].w, l, h, act4(k + 7u));
  let d = weight_f16_at(block + 108u);
  return (d * (f32(q3k_scale(block, 2u * j)) - 32.0)) * acc0 + (d * (f32(q3k_scale(block, 2u * j + 1u)) - 32.0)) * acc1;
}
