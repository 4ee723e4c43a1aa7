// Q2_K: super-blocks of 256 elements in 84 bytes: scales[16] @0 (low nibble
// scale, high nibble min of each 16-element sub-block), qs[64] @16, f16 d
// @80, f16 dmin @82. Element e (0..255) is bits 2*((e >> 5) & 3) of byte
// qs[(e >> 7) * 32 + (e & 31)]; sub-block e >> 4.
// x = (d * sc) * q - dmin * mn. Every product is exact in f32 (11-bit
// significand times small integers), so a fused multiply-add rounds the
// difference once, exactly like C's separate steps.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 84u;
  let e = (k4 & 63u) * 4u;
  let d = weight_f16_at(block + 80u);
  let dmin = weight_f16_at(block + 82u);
  let sc = weight_byte_at(block + (e >> 4u));
  let dl = d * f32(sc & 0x0fu);
  let ml = dmin * f32(sc >> 4u);
  let q = (weight_word_at(block + 16u + (e >> 7u) * 32u + (e & 31u)) >> (2u * ((e >> 5u) & 3u))) & 0x03030303u;
  return dl * vec4<f32>(bytes4(q)) - ml;
}
