// Shared by the Q4_K and Q5_K dot32 pieces (word and wide loads).

// Scale and min of sub-block j
// (0..7) from the three words holding a super-block's 12 scale bytes (see
// shaders/decode/kscale.wgsl for the packing), as (d * scale, -dmin * min).
fn dot_k4_scale_min(dm: vec2<f32>, s0: u32, s1: u32, s2: u32, j: u32) -> vec2<f32> {
  let sh = (j & 3u) * 8u;
  let a = (s0 >> sh) & 0xffu;
  let m = (s1 >> sh) & 0xffu;
  let c = (s2 >> sh) & 0xffu;
  let low = j < 4u;
  let sc = select((c & 15u) | ((a >> 6u) << 4u), a & 63u, low);
  let mn = select((c >> 4u) | ((m >> 6u) << 4u), m & 63u, low);
  return vec2<f32>(dm.x * f32(sc), -(dm.y * f32(mn)));
}

// Q4_K: four elements from one qs word: the nibbles at `shift`, scaled, dotted with a.
fn q4k_dot4(q: u32, shift: u32, sm: vec2<f32>, a: vec4<f32>) -> f32 {
  return dot(fma(vec4<f32>(dot_nibbles(q, shift)), vec4<f32>(sm.x), vec4<f32>(sm.y)), a);
}

// Q5_K: four elements from one qs and one qh word (combined while packed, then
// unpacked once), scaled, dotted with a.
fn q5k_dot4(q: u32, qh: u32, shift: u32, j: u32, sm: vec2<f32>, a: vec4<f32>) -> f32 {
  let v = ((q >> shift) & 0x0f0f0f0fu) | (((qh >> j) & 0x01010101u) << 4u);
  return dot(fma(dot_u8x4(v), vec4<f32>(sm.x), vec4<f32>(sm.y)), a);
}
