// Q6_K: super-blocks of 256 elements in 210 bytes: ql[128] @0, qh[64] @128,
// int8 scales[16] @192, f16 d @208. In half h = e >> 7, quarter
// g = (e >> 5) & 3, lane l = e & 31: the low four bits are the low (g < 2)
// or high (g >= 2) nibble of ql[64h + 32(g & 1) + l], the top two are bits
// 2g..2g+1 of qh[32h + l], q = that - 32, and the scale is
// scales[8h + 2g + (l >> 4)]. x = (d * scale) * q; both products are
// exact in f32 (at most 11 + 7 + 5 significant bits).
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 210u;
  let e = (k4 & 63u) * 4u;
  let h = e >> 7u;
  let g = (e >> 5u) & 3u;
  let l = e & 31u;
  let d = weight_f16_at(block + 208u);
  let sc = bitcast<i32>(weight_byte_at(block + 192u + 8u * h + 2u * g + (l >> 4u)) << 24u) >> 24u;
  let dl = d * f32(sc);
  let ql = weight_word_at(block + 64u * h + 32u * (g & 1u) + l);
  let low = select(ql, ql >> 4u, g >= 2u) & 0x0f0f0f0fu;
  let high = (weight_word_at(block + 128u + 32u * h + l) >> (2u * g)) & 0x03030303u;
  return dl * (vec4<f32>(bytes4(low | (high << 4u))) - 32.0);
}
