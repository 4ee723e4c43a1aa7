// Helpers of the int8 dot32 pieces (put in front of each).
requires packed_4x8_integer_dot_product;

// Four words of weight bytes (each byte a small integer: signed, or
// unsigned below 128) against input words first .. first+3 of the block:
// the sum of their 16 products.
fn i8_dot16(w: vec4<u32>, first: u32) -> i32 {
  return dot4I8Packed(w.x, actq(first)) + dot4I8Packed(w.y, actq(first + 1u))
    + dot4I8Packed(w.z, actq(first + 2u)) + dot4I8Packed(w.w, actq(first + 3u));
}

// The low (shift 0) or high (shift 4) nibbles of four words, one byte each.
fn i8_nibbles(w: vec4<u32>, shift: u32) -> vec4<u32> {
  return (w >> vec4<u32>(shift)) & vec4<u32>(0x0f0f0f0fu);
}
