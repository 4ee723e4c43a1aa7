// TQ2_0 dot32: sub-block j = b & 7 of super-block b >> 3 (66 bytes, at an
// even byte offset: qs[64], f16 d @64). Its 32 digits are bits 2(j & 3) of
// the 32 bytes qs[32(j >> 2)..], read as nine words (dot_words8); x = (q - 1)
// * d, d applied once to the sub-block's sum.

// Four digits from one qs word (bits s, s+1 of each byte), minus 1, dotted with a.
fn tq2_dot4(q: u32, s: u32, a: vec4<f32>) -> f32 {
  return dot(vec4<f32>((vec4<u32>(q >> s) >> DOT_BYTE_SHIFTS) & vec4<u32>(3u)) - 1.0, a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + (b >> 3u) * 66u;
  let j = b & 7u;
  let qs = block + 32u * (j >> 2u);
  let q = dot_words8(qs >> 2u, (qs & 2u) != 0u);
  let s = 2u * (j & 3u);
  let k = b * 8u;
  let acc = tq2_dot4(q[0].x, s, act4(k)) + tq2_dot4(q[0].y, s, act4(k + 1u)) + tq2_dot4(q[0].z, s, act4(k + 2u))
    + tq2_dot4(q[0].w, s, act4(k + 3u)) + tq2_dot4(q[1].x, s, act4(k + 4u)) + tq2_dot4(q[1].y, s, act4(k + 5u))
    + tq2_dot4(q[1].z, s, act4(k + 6u)) + tq2_dot4(q[1].w, s, act4(k + 7u));
  return weight_f16_at(block + 64u) * acc;
}
