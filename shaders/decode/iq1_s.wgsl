// IQ1_S: super-blocks of 256 elements in 50 bytes: f16 d @0, grid index
// low bytes[32] @2 (one per group of 8), u16 qh[8] @34 (per sub-block ib of
// 32: 3 high index bits per group, a 3-bit scale s at bit 12, the sign of
// the shift at bit 15). x = (d * (2s + 1)) * (grid + delta), grid in
// {-1, 0, 1}, delta = +-0.125 (ggml's IQ1S_DELTA): exact in f32.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 50u;
  let p = grid_place(k4);
  let qh = weight_word_at(block + 34u + 2u * p.ib) & 0xffffu;
  let dl = weight_f16_at(block) * f32(2u * ((qh >> 12u) & 7u) + 1u);
  let delta = select(0.125, -0.125, (qh & 0x8000u) != 0u);
  let index = weight_byte_at(block + 2u + 4u * p.ib + p.l) | (((qh >> (3u * p.l)) & 7u) << 8u);
  return dl * (grid4(index, p.first) + delta);
}
