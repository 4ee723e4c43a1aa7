// Q5_K: super-blocks of 256 elements in 176 bytes: f16 d @0, f16 dmin @2,
// scales[12] @4 (as Q4_K), qh[32] @16, qs[128] @48. Element e of sub-block
// j = e >> 5: nibble as in Q4_K, plus 16 when bit j of qh[e & 31] is set.
// x = (d * scale) * q - dmin * min, products exact (see q4_k.wgsl).
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 176u;
  let e = (k4 & 63u) * 4u;
  let j = e >> 5u;
  let sm = k4_scale_min(block + 4u, j);
  let dl = weight_f16_at(block) * f32(sm.x);
  let ml = weight_f16_at(block + 2u) * f32(sm.y);
  let q = weight_word_at(block + 48u + (j >> 1u) * 32u + (e & 31u));
  let low = select(q, q >> 4u, (j & 1u) == 1u) & 0x0f0f0f0fu;
  let high = (weight_word_at(block + 16u + (e & 31u)) >> j) & 0x01010101u;
  return dl * vec4<f32>(bytes4(low | (high << 4u))) - ml;
}
