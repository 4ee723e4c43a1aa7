// TQ2_0: super-blocks of 256 elements in 66 bytes: qs[64] @0, f16 d @64.
// Element 128h + 32l + m is bits 2l..2l+1 of qs[32h + m]: a digit q in
// {0, 1, 2}, x = (q - 1) * d.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 66u;
  let e = (k4 & 63u) * 4u;
  let q = weight_word_at(block + 32u * (e >> 7u) + (e & 31u)) >> (2u * ((e >> 5u) & 3u));
  return (vec4<f32>(bytes4(q & 0x03030303u)) - 1.0) * weight_f16_at(block + 64u);
}
