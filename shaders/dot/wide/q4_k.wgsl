// Q4_K dot32, wide loads: the kernel binds `weights: array<vec4<u32>>`. A
// super-block is 9 vec4s (144 bytes, rows start on one): vec4 0 holds d,
// dmin and the 12 scale bytes, vec4s 1 + 2p and 2 + 2p the 32 qs bytes of
// sub-blocks 2p and 2p + 1 (low and high nibbles). Three loads per
// sub-block, where the word piece makes twelve.

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_wide_sub(row_byte_base, b, 9u);
  let v = sub.v;
  let sm = sub.sm;
  let j = b & 7u;
  let q0 = weights[v + 1u + (j >> 1u) * 2u];
  let q1 = weights[v + 2u + (j >> 1u) * 2u];
  let s = (j & 1u) * 4u;
  let k = b * 8u;
  return q4k_dot4(q0.x, s, sm, act4(k)) + q4k_dot4(q0.y, s, sm, act4(k + 1u))
    + q4k_dot4(q0.z, s, sm, act4(k + 2u)) + q4k_dot4(q0.w, s, sm, act4(k + 3u))
    + q4k_dot4(q1.x, s, sm, act4(k + 4u)) + q4k_dot4(q1.y, s, sm, act4(k + 5u))
    + q4k_dot4(q1.z, s, sm, act4(k + 6u)) + q4k_dot4(q1.w, s, sm, act4(k + 7u));
}
