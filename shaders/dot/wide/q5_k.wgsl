// Q5_K dot32, wide loads: the kernel binds `weights: array<vec4<u32>>`. A
// super-block is 11 vec4s (176 bytes, rows start on one): vec4 0 holds d,
// dmin and the 12 scale bytes, vec4s 1..2 the 32 qh bytes (bit j of each
// is sub-block j's fifth bit), vec4s 3 + 2p and 4 + 2p the qs bytes of
// sub-blocks 2p and 2p + 1. Five loads per sub-block, where the word piece
// makes twenty.

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let sub = k4_wide_sub(row_byte_base, b, 11u);
  let v = sub.v;
  let sm = sub.sm;
  let j = b & 7u;
  let qh0 = weights[v + 1u];
  let qh1 = weights[v + 2u];
  let q0 = weights[v + 3u + (j >> 1u) * 2u];
  let q1 = weights[v + 4u + (j >> 1u) * 2u];
  let s = (j & 1u) * 4u;
  let k = b * 8u;
  return q5k_dot4(q0.x, qh0.x, s, j, sm, act4(k)) + q5k_dot4(q0.y, qh0.y, s, j, sm, act4(k + 1u))
    + q5k_dot4(q0.z, qh0.z, s, j, sm, act4(k + 2u)) + q5k_dot4(q0.w, qh0.w, s, j, sm, act4(k + 3u))
    + q5k_dot4(q1.x, qh1.x, s, j, sm, act4(k + 4u)) + q5k_dot4(q1.y, qh1.y, s, j, sm, act4(k + 5u))
    + q5k_dot4(q1.z, qh1.z, s, j, sm, act4(k + 6u)) + q5k_dot4(q1.w, qh1.w, s, j, sm, act4(k + 7u));
}
