// Q4_K: super-blocks of 256 elements in 144 bytes: f16 d @0, f16 dmin @2,
// scales[12] @4 (8 six-bit scales and mins, see kscale.wgsl), qs[128] @16.
// Sub-block j = e >> 5 holds elements 32j..32j+31: the low (j even) or high
// (j odd) nibbles of qs[(j >> 1) * 32 + (e & 31)].
// x = (d * scale) * q - dmin * min: products exact in f32, so a fused
// multiply-add rounds the difference once, like C's separate steps.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 144u;
  let e = (k4 & 63u) * 4u;
  let s = k4_scales(block, e >> 5u);
  return s.x * vec4<f32>(bytes4(k4_nibbles(block + 16u, e))) - s.y;
}
