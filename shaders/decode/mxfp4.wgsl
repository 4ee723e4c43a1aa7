// MXFP4: blocks of 32 elements in 17 bytes: u8 e @0 (E8M0 scale, halved:
// d = 2^(e - 128), subnormal for e < 2, as ggml builds it), qs[16] @1; low
// nibble of byte j is element j, high is j + 16; each nibble an E2M1 value
// doubled (FP4_LEVELS, generated from src/quant/fp4.ts). Blocks sit at any
// byte offset. x = level * d.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 3u) * 17u;
  let i = k4 & 7u;
  let e = weight_byte_at(block);
  let d = bitcast<f32>(select(0x00200000u << e, (e - 1u) << 23u, e >= 2u));
  let n = bytes4(block32_nibbles(block + 1u, i));
  return vec4<f32>(FP4_LEVELS[n.x], FP4_LEVELS[n.y], FP4_LEVELS[n.z], FP4_LEVELS[n.w]) * d;
}
