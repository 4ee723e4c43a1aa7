// Shared by the Q6_K dot32 pieces (f32 and int8; after words.wgsl): the
// words of sub-block j = b & 7 of super-block b >> 3 (210 bytes at an even
// offset: ql[128] @0, qh[64] @128, int8 scales[16] @192, f16 d @208). With
// h = j >> 2, g = j & 3, its low four bits are the low (g < 2) or high
// nibbles of the 32 bytes ql[64h + 32(g & 1)..], its top two bits 2g..2g+1
// of the 32 bytes qh[32h..] (nine loads each, dot_words8: every field is a
// multiple of 4 bytes from the block's start), q = that - 32. Elements
// 0..15 and 16..31 have their own scale: the two int8s at 192 + 8h + 2g.
struct Q6Sub {
  ql: array<vec4<u32>, 2>,
  qh: array<vec4<u32>, 2>,
  // Shift of the sub-block's nibbles in ql, and of its two bits in qh.
  lshift: u32,
  hshift: u32,
  // The two halves' scales, and the super-block's d.
  scales: vec2<f32>,
  d: f32,
}

fn q6k_sub(row_byte_base: u32, b: u32) -> Q6Sub {
  let block = row_byte_base + (b >> 3u) * 210u;
  let j = b & 7u;
  let h = j >> 2u;
  let g = j & 3u;
  let half = (block & 2u) != 0u;
  let sc = block + 192u + 8u * h + 2u * g;
  let s = bitcast<i32>(weights[sc >> 2u] >> ((sc & 2u) * 8u));
  return Q6Sub(
    dot_words8((block + 64u * h + 32u * (g & 1u)) >> 2u, half),
    dot_words8((block + 128u + 32u * h) >> 2u, half),
    (g >> 1u) * 4u,
    2u * g,
    vec2<f32>(f32((s << 24u) >> 24u), f32((s << 16u) >> 24u)),
    weight_f16_at(block + 208u),
  );
}
