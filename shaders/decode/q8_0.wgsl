// Q8_0: blocks of 32 elements in 34 bytes: f16 scale d, then 32 signed bytes.
// x[i] = d * qs[i]. Elements 4k..4k+3 are 4 consecutive bytes of one block.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 34u;
  let d = weight_f16_at(block);
  let q = weight_word_at(block + 2u + (k4 & 7u) * 4u);
  return signed_bytes4(q) * d;
}
