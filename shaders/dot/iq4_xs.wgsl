// IQ4_XS dot32: sub-block ib = b & 7 of super-block b >> 3 (136 bytes,
// word aligned: word 0 = f16 d | u16 scales_h, word 1 scales_l, words
// 2..33 qs). Its 6-bit scale is nibble ib of scales_l | bits 2ib..2ib+1 of
// scales_h << 4; its 16 bytes of qs are words 2 + 4ib .. +3, nibbles
// ordered as IQ4_NL, each an index into IQ4_LEVELS (from the decode piece).
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let w = (row_byte_base >> 2u) + (b >> 3u) * 34u;
  let ib = b & 7u;
  let head = weights[w];
  let ls = ((weights[w + 1u] >> (4u * ib)) & 15u) | (((head >> (16u + 2u * ib)) & 3u) << 4u);
  let dl = unpack2x16float(head).x * (f32(ls) - 32.0);
  let q = w + 2u + 4u * ib;
  let k = b * 8u;
  var acc = 0.0;
  for (var i = 0u; i < 4u; i++) {
    let word = weights[q + i];
    let lo = dot_nibbles(word, 0u);
    let hi = dot_nibbles(word, 4u);
    acc += dot(vec4<f32>(IQ4_LEVELS[lo.x], IQ4_LEVELS[lo.y], IQ4_LEVELS[lo.z], IQ4_LEVELS[lo.w]), act4(k + i));
    acc += dot(vec4<f32>(IQ4_LEVELS[hi.x], IQ4_LEVELS[hi.y], IQ4_LEVELS[hi.z], IQ4_LEVELS[hi.w]), act4(k + 4u + i));
  }
  return dl * acc;
}
