// IQ4_XS: super-blocks of 256 elements in 136 bytes: f16 d @0, u16 scales_h
// @2, scales_l[4] @4, qs[128] @8. Sub-block ib (32 elements) has the 6-bit
// scale ls = nibble ib of scales_l | bits 2ib..2ib+1 of scales_h << 4, and
// x = (d * (ls - 32)) * level[nibble], nibbles ordered as in IQ4_NL within
// the sub-block's 16 bytes of qs. Both products are exact in f32.
// IQ4_LEVELS comes before this piece (WGSL_IQ4_LEVELS, src/gpu/quant-tables.ts).

fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 136u;
  let e = (k4 & 63u) * 4u; // first element inside the super-block
  let ib = e >> 5u;
  let l = e & 31u;
  let d = weight_f16_at(block);
  let header = weight_word_at(block + 2u) & 0xffffu;
  let low = (weight_byte_at(block + 4u + (ib >> 1u)) >> (4u * (ib & 1u))) & 0x0fu;
  let high = (header >> (2u * ib)) & 3u;
  let dl = d * (f32(low | (high << 4u)) - 32.0);
  let q = weight_word_at(block + 8u + ib * 16u + (l & 15u));
  let n = bytes4(select(q, q >> 4u, l >= 16u) & 0x0f0f0f0fu);
  return dl * vec4<f32>(IQ4_LEVELS[n.x], IQ4_LEVELS[n.y], IQ4_LEVELS[n.z], IQ4_LEVELS[n.w]);
}
