// Shared by the Q4_K and Q5_K dot32 word pieces (f32 and int8; after
// kscale.wgsl): where sub-block j = b & 7 of element block b lies.

// The super-block holding block b (`words` words each, from the row's
// first word), the sub-block's (d * scale, -dmin * min), the first of the
// 8 qs words (from word `qs` of the super-block) whose low (j even) or high
// (j odd) nibbles are its 32 quants, and that nibble's shift.
struct K4Sub {
  w: u32,
  sm: vec2<f32>,
  q: u32,
  shift: u32,
}

fn k4_sub(row_byte_base: u32, b: u32, words: u32, qs: u32) -> K4Sub {
  let w = (row_byte_base >> 2u) + (b >> 3u) * words;
  let j = b & 7u;
  let sm = dot_k4_scale_min(unpack2x16float(weights[w]), weights[w + 1u], weights[w + 2u], weights[w + 3u], j);
  return K4Sub(w, sm, w + qs + (j >> 1u) * 8u, (j & 1u) * 4u);
}
