// IQ4_NL: blocks of 32 elements in 18 bytes: f16 scale d, then 16 bytes qs;
// each nibble indexes one of 16 fixed non-linear levels, x = d * level.
// Nibble order as Q4_0: low nibble of qs[j] is element j, high is j + 16.
// d * level is exact in f32 (11-bit significand times a 7-bit integer).
// IQ4_LEVELS comes before this piece (WGSL_IQ4_LEVELS, src/gpu/quant-tables.ts).

fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 18u;
  let i = k4 & 7u;
  let d = weight_f16_at(block);
  let n = bytes4(block32_nibbles(block + 2u, i));
  return d * vec4<f32>(IQ4_LEVELS[n.x], IQ4_LEVELS[n.y], IQ4_LEVELS[n.z], IQ4_LEVELS[n.w]);
}
