// Q5_K: super-blocks of 256 elements in 176 bytes: f16 d @0, f16 dmin @2,
// scales[12] @4 (as Q4_K), qh[32] @16, qs[128] @48. Element e of sub-block
// j = e >> 5: nibble as in Q4_K, plus 16 when bit j of qh[e & 31] is set.
// x = (d * scale) * q - dmin * min, products exact (see q4_k.wgsl).
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 176u;
  let e = (k4 & 63u) * 4u;
  let j = e >> 5u;
  let s = k4_scales(block, j);
  let high = (weight_word_at(block + 16u + (e & 31u)) >> j) & 0x01010101u;
  return s.x * vec4<f32>(bytes4(k4_nibbles(block + 48u, e) | (high << 4u))) - s.y;
}
