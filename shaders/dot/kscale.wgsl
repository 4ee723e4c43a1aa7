// Shared by the Q4_K and Q5_K dot32 pieces: scale and min of sub-block j
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
