// IQ1_M: super-blocks of 256 elements in 56 bytes: grid index low bytes
// [32] @0 (one per group of 8), qh[16] @32 (a nibble per group: 3 high index
// bits, the sign of the shift at bit 3), scales[8] @48 as four u16: 3-bit
// scales s (sub-block ib, half h at bit 6(ib & 1) + 3h of u16 ib >> 1), and
// the f16 d spread over their top nibbles, lowest first.
// x = (d * (2s + 1)) * (grid + delta), delta = +-0.125 (IQ1M_DELTA).
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 56u;
  let p = grid_place(k4);
  let w0 = weight_word_at(block + 48u);
  let w1 = weight_word_at(block + 52u);
  let d_bits = ((w0 >> 12u) & 0xfu) | ((w0 >> 24u) & 0xf0u) | ((w1 >> 4u) & 0xf00u) | ((w1 >> 16u) & 0xf000u);
  let d = unpack2x16float(d_bits).x;
  let sc = (select(w0, w1, p.ib >= 4u) >> (16u * ((p.ib >> 1u) & 1u) + 6u * (p.ib & 1u) + 3u * (p.l >> 1u))) & 7u;
  let dl = d * f32(2u * sc + 1u);
  let qh = weight_byte_at(block + 32u + 2u * p.ib + (p.l >> 1u)) >> (4u * (p.l & 1u));
  let delta = select(0.125, -0.125, (qh & 8u) != 0u);
  let index = weight_byte_at(block + 4u * p.ib + p.l) | ((qh & 7u) << 8u);
  return dl * (grid4(index, p.first) + delta);
}
