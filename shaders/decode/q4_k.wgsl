// Q4_K: super-blocks of 256 elements in 144 bytes: f16 d @0, f16 dmin @2,
// scales[12] @4 (8 six-bit scales and mins, see kscale.wgsl), qs[128] @16.
// Sub-block j = e >> 5 holds elements 32j..32j+31: the low (j even) or high
// (j odd) nibbles of qs[(j >> 1) * 32 + (e & 31)].
// x = (d * scale) * q - dmin * min: products exact in f32, so a fused
// multiply-add rounds the difference once, like C's separate steps.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 144u;
  let e = (k4 & 63u) * 4u;
  let j = e >> 5u;
  let sm = k4_scale_min(block + 4u, j);
  let dl = weight_f16_at(block) * f32(sm.x);
  let ml = weight_f16_at(block + 2u) * f32(sm.y);
  let q = weight_word_at(block + 16u + (j >> 1u) * 32u + (e & 31u));
  let n = select(q, q >> 4u, (j & 1u) == 1u) & 0x0f0f0f0fu;
  return dl * vec4<f32>(bytes4(n)) - ml;
}
