// Q4_1: blocks of 32 elements in 20 bytes: f16 scale d, f16 min m, then 16
// bytes qs; x[j] = q * d + m with q the low nibble of qs[j] (j < 16) or the
// high nibble of qs[j - 16]. Elements 4k..4k+3 share one word of qs.
// Exactness: q * d is exact in f32 (4-bit integer times an 11-bit f16
// significand), so a fused multiply-add rounds once, like C's two steps.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 20u;
  let i = k4 & 7u;
  let d = weight_f16_at(block);
  let m = weight_f16_at(block + 2u);
  return vec4<f32>(bytes4(block32_nibbles(block + 4u, i))) * d + m;
}
