// Q5_0: blocks of 32 elements in 22 bytes: f16 scale d, u32 qh (bit j is the
// fifth bit of element j), then 16 bytes qs (low nibble: element j, high
// nibble: element j + 16). x[j] = (q - 16) * d, exact integer part times d.
// Element 4k + t of a block is bit 4k + t of qh for both halves.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 22u;
  let i = k4 & 7u;
  let d = weight_f16_at(block);
  let qh = weight_word_at(block + 2u);
  let values = block32_nibbles(block + 6u, i) | (spread_bits4(qh >> (4u * i)) << 4u);
  return (vec4<f32>(bytes4(values)) - 16.0) * d;
}
