// Q3_K: super-blocks of 256 elements in 110 bytes: hmask[32] @0, qs[64]
// @32, scales[12] @96 (sixteen 6-bit scales, offset by 32), f16 d @108.
// Element e: low two bits = bits 2*((e >> 5) & 3) of qs[(e >> 7) * 32 +
// (e & 31)]; q = low - 4 unless bit (e >> 5) of hmask[e & 31] is set;
// x = (d * (scale[e >> 4] - 32)) * q, both products exact in f32.
fn q3k_scale(block: u32, j: u32) -> u32 {
  let low = (weight_byte_at(block + 96u + (j & 7u)) >> (4u * (j >> 3u))) & 0x0fu;
  let high = (weight_byte_at(block + 104u + (j & 3u)) >> (2u * (j >> 2u))) & 3u;
  return low | (high << 4u);
}

fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 110u;
  let e = (k4 & 63u) * 4u;
  let d = weight_f16_at(block + 108u);
  let dl = d * (f32(q3k_scale(block, e >> 4u)) - 32.0);
  let low = (weight_word_at(block + 32u + (e >> 7u) * 32u + (e & 31u)) >> (2u * ((e >> 5u) & 3u))) & 0x03030303u;
  // The hmask bit of each element moved to bit 0 of its byte; a clear bit subtracts 4.
  let high = (weight_word_at(block + (e & 31u)) >> (e >> 5u)) & 0x01010101u;
  let q = vec4<i32>(bytes4(low)) - 4 * (1 - vec4<i32>(bytes4(high)));
  return dl * vec4<f32>(q);
}
