// IQ4_XS dot32: sub-block ib = b & 7 of super-block b >> 3 (136 bytes,
// word aligned: word 0 = f16 d | u16 scales_h, word 1 scales_l, words
// 2..33 qs). Its 6-bit scale is nibble ib of scales_l | bits 2ib..2ib+1 of
// scales_h << 4; its 16 bytes of qs are words 2 + 4ib .. +3, nibbles
// ordered as IQ4_NL, each an index into IQ4_LEVELS (from the decode piece).

fn iq4_levels4(n: vec4<u32>) -> vec4<f32> {
  return vec4<f32>(IQ4_LEVELS[n.x], IQ4_LEVELS[n.y], IQ4_LEVELS[n.z], IQ4_LEVELS[n.w]);
}

// Word i of the sub-block's qs: elements 4i..4i+3 (low nibbles) and 16+4i.. (high).
fn iq4_dot8(q: u32, lo: vec4<f32>, hi: vec4<f32>) -> f32 {
  return dot(iq4_levels4(dot_nibbles(q, 0u)), lo) + dot(iq4_levels4(dot_nibbles(q, 4u)), hi);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 34u;
  let ib = b & 7u;
  let head = weights[w];
  let ls = ((weights[w + 1u] >> (4u * ib)) & 15u) | (((head >> (16u + 2u * ib)) & 3u) << 4u);
  let dl = unpack2x16float(head).x * (f32(ls) - 32.0);
  let q = w + 2u + 4u * ib;
  let k = b * 8u;
  let acc = iq4_dot8(weights[q], act4(k), act4(k + 4u)) + iq4_dot8(weights[q + 1u], act4(k + 1u), act4(k + 5u))
    + iq4_dot8(weights[q + 2u], act4(k + 2u), act4(k + 6u)) + iq4_dot8(weights[q + 3u], act4(k + 3u), act4(k + 7u));
  return dl * acc;
}
