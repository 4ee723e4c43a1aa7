// Q5_1: blocks of 32 elements in 24 bytes: f16 scale d, f16 min m, u32 qh
// (fifth bits, as in Q5_0), then 16 bytes qs. x[j] = q * d + m.
// Exactness: q * d is exact in f32 (5-bit integer times an 11-bit
// significand), so a fused multiply-add rounds once, like C's two steps.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 24u;
  let i = k4 & 7u;
  let d = weight_f16_at(block);
  let m = weight_f16_at(block + 2u);
  let qh = weight_word_at(block + 4u);
  let values = block32_nibbles(block + 8u, i) | (spread_bits4(qh >> (4u * i)) << 4u);
  return vec4<f32>(bytes4(values)) * d + m;
}
