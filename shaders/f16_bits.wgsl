// f32 -> f16 bits as ggml converts: round to nearest even, overflow to
// infinity, gradual underflow (WGSL leaves pack2x16float's rounding and its
// out-of-range results to the adapter). Shared by the KV cache writers.
fn f16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let abs_bits = b & 0x7fffffffu;
  if (abs_bits > 0x7f800000u) {
    return sign | 0x7e00u; // NaN stays NaN (quiet)
  }
  if (abs_bits >= 0x477ff000u) {
    return sign | 0x7c00u; // rounds past 65504: infinity
  }
  if (abs_bits < 0x38800000u) {
    // Below the smallest normal f16 (2^-14): a subnormal of 2^-24 steps.
    // Adding 0.5 makes the f32 adder round the steps to nearest even.
    let r = bitcast<u32>(bitcast<f32>(abs_bits) + 0.5) - 0x3f000000u;
    return sign | r;
  }
  // Normal: rebias the exponent, drop 13 mantissa bits rounding to nearest even.
  let odd = (abs_bits >> 13u) & 1u;
  let rounded = abs_bits + 0xfffu + odd;
  return sign | ((rounded - 0x38000000u) >> 13u);
}
