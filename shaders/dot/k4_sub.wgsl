// Shared by the Q4_K and Q5_K dot32 word pieces (f32 and int8; after
// kscale.wgsl): where sub-block j = b & 7 of element block b lies.

// The super-block holding block b (`words` words each, from the row's first
// word) and the sub-block's (d * scale, -dmin * min).
struct K4Sub {
  w: u32,
  sm: vec2<f32>,
}

fn k4_sub(row_byte_base: u32, b: u32, words: u32) -> K4Sub {
  let w = (row_byte_base >> 2u) + (b >> 3u) * words;
  return K4Sub(w, dot_k4_scale_min(unpack2x16float(weights[w]), weights[w + 1u], weights[w + 2u], weights[w + 3u], b & 7u));
}
