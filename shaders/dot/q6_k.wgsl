// Q6_K dot32: the sub-block's words from q6k_sub (q6_k_sub.wgsl, which
// says where its bits lie), q = that - 32, each half times its scale and d.

// Four elements from one ql word and one qh word (combined while packed,
// then unpacked once), minus 32, dotted with a.
fn q6k_dot4(ql: u32, qh: u32, lshift: u32, hshift: u32, a: vec4<f32>) -> f32 {
  let v = ((ql >> lshift) & 0x0f0f0f0fu) | (((qh >> hshift) & 0x03030303u) << 4u);
  return dot(dot_u8x4(v) - 32.0, a);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let q = q6k_sub(row_byte_base, b);
  let ql = q.ql;
  let qh = q.qh;
  let l = q.lshift;
  let s = q.hshift;
  let k = b * 8u;
  let acc0 = q6k_dot4(ql[0].x, qh[0].x, l, s, act4(k)) + q6k_dot4(ql[0].y, qh[0].y, l, s, act4(k + 1u))
    + q6k_dot4(ql[0].z, qh[0].z, l, s, act4(k + 2u)) + q6k_dot4(ql[0].w, qh[0].w, l, s, act4(k + 3u));
  let acc1 = q6k_dot4(ql[1].x, qh[1].x, l, s, act4(k + 4u)) + q6k_dot4(ql[1].y, qh[1].y, l, s, act4(k + 5u))
    + q6k_dot4(ql[1].z, qh[1].z, l, s, act4(k + 6u)) + q6k_dot4(ql[1].w, qh[1].w, l, s, act4(k + 7u));
  return (q.d * q.scales.x) * acc0 + (q.d * q.scales.y) * acc1;
}
