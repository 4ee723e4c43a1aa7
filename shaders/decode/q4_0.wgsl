// Q4_0: blocks of 32 elements in 18 bytes: f16 scale d, then 16 bytes qs.
// x[j] = d * ((qs[j] & 15) - 8) and x[j + 16] = d * ((qs[j] >> 4) - 8) for
// j < 16. Elements 4k..4k+3 are the low (first half of the block) or high
// (second half) nibbles of 4 consecutive bytes.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 18u;
  let i = k4 & 7u;
  let d = weight_f16_at(block);
  let q = weight_word_at(block + 2u + (i & 3u) * 4u);
  let nibbles = select(q, q >> 4u, i >= 4u) & 0x0f0f0f0fu;
  let v = vec4<f32>(
    f32(nibbles & 0xffu),
    f32((nibbles >> 8u) & 0xffu),
    f32((nibbles >> 16u) & 0xffu),
    f32(nibbles >> 24u),
  );
  return (v - 8.0) * d;
}
