// NVFP4: blocks of 64 elements in 36 bytes: u8 d[4] @0 (UE4M3 scales, one
// per 16 elements: bias 7, bit 7 ignored, 0 and 0x7f read as 0; halved),
// qs[32] @4; sub-block s has bytes 4 + 8s .. +7, low nibble of byte j is
// element 16s + j, high is 16s + j + 8; nibbles as MXFP4's (FP4_LEVELS).
// x = level * d, exact in f32.
fn ue4m3_half(x: u32) -> f32 {
  let exp = (x >> 3u) & 15u;
  let man = f32(x & 7u);
  let raw = select(ldexp(1.0 + man / 8.0, i32(exp) - 7), ldexp(man, -9), exp == 0u);
  return select(raw * 0.5, 0.0, x == 0u || x == 0x7fu);
}

fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 4u) * 36u;
  let e = (k4 & 15u) * 4u;
  let s = e >> 4u;
  let j = e & 15u;
  let d = ue4m3_half(weight_byte_at(block + s));
  let q = weight_word_at(block + 4u + 8u * s + (j & 7u));
  let n = bytes4(select(q, q >> 4u, j >= 8u) & 0x0f0f0f0fu);
  return vec4<f32>(FP4_LEVELS[n.x], FP4_LEVELS[n.y], FP4_LEVELS[n.z], FP4_LEVELS[n.w]) * d;
}
