// Shared by the Q4_K and Q5_K wide dot32 pieces (f32 and int8; after
// kscale.wgsl; `weights: array<vec4<u32>>`): the super-block holding
// element block b (`vec4s` 16-byte groups each, from the row's first; its
// first holds d, dmin and the 12 scale bytes) and sub-block j = b & 7's
// (d * scale, -dmin * min).
struct K4WideSub {
  v: u32,
  sm: vec2<f32>,
}

fn k4_wide_sub(row_byte_base: u32, b: u32, vec4s: u32) -> K4WideSub {
  let v = (row_byte_base >> 4u) + (b >> 3u) * vec4s;
  let h = weights[v];
  return K4WideSub(v, dot_k4_scale_min(unpack2x16float(h.x), h.y, h.z, h.w, b & 7u));
}
