// Q6_K dot32: sub-block j = b & 7 of super-block b >> 3 (210 bytes, at an
// even offset: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208).
// With h = j >> 2, g = j & 3, its low four bits are the low (g < 2) or high
// nibbles of the 32 bytes ql[64h + 32(g & 1)..], its top two bits 2g..2g+1
// of the 32 bytes qh[32h..] (nine loads each, dot_words8: every field is a
// multiple of 4 bytes from the block's start), q = that - 32. Elements
// 0..15 and 16..31 have their own scale: the two int8s at 192 + 8h + 2g.

// Four elements from one ql word and one qh word (combined while packed,
// then unpacked once), minus 32, dotted with a.
fn q6k_dot4(ql: u32, qh: u32, lshift: u32, hshift: u32, a: vec4<f32>) -> f32 {
  let v = ((ql >> lshift) & 0x0f0f0f0fu) | (((qh >> hshift) & 0x03030303u) << 4u);
  return dot(dot_u8x4(v) - 32.0, a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 210u;
  let j = b & 7u;
  let h = j >> 2u;
  let g = j & 3u;
  let half = (block & 2u) != 0u;
  let ql = dot_words8((block + 64u * h + 32u * (g & 1u)) >> 2u, half);
  let qh = dot_words8((block + 128u + 32u * h) >> 2u, half);
  let l = (g >> 1u) * 4u;
  let s = 2u * g;
  let k = b * 8u;
  let acc0 = q6k_dot4(ql[0].x, qh[0].x, l, s, act4(k)) + q6k_dot4(ql[0].y, qh[0].y, l, s, act4(k + 1u))
    + q6k_dot4(ql[0].z, qh[0].z, l, s, act4(k + 2u)) + q6k_dot4(ql[0].w, qh[0].w, l, s, act4(k + 3u));
  let acc1 = q6k_dot4(ql[1].x, qh[1].x, l, s, act4(k + 4u)) + q6k_dot4(ql[1].y, qh[1].y, l, s, act4(k + 5u))
    + q6k_dot4(ql[1].z, qh[1].z, l, s, act4(k + 6u)) + q6k_dot4(ql[1].w, qh[1].w, l, s, act4(k + 7u));
  let sc = block + 192u + 8u * h + 2u * g;
  let scales = bitcast<i32>(weights[sc >> 2u] >> ((sc & 2u) * 8u));
  let d = weight_f16_at(block + 208u);
  return (d * f32((scales << 24u) >> 24u)) * acc0 + (d * f32((scales << 16u) >> 24u)) * acc1;
}
