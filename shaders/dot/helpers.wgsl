// Helpers of the dot32 pieces (put in front of each that uses them; the
// word loads of unaligned fields are in words.wgsl). Whole words are
// unpacked with one vector shift and mask: component i of the
// result comes from byte i (lowest first).

const DOT_BYTE_SHIFTS = vec4<u32>(0u, 8u, 16u, 24u);

// The four unsigned bytes of q.
fn dot_u8x4(q: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(q) >> DOT_BYTE_SHIFTS) & vec4<u32>(0xffu));
}

// The four signed bytes of q.
fn dot_i8x4(q: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(q) << (vec4<u32>(24u) - DOT_BYTE_SHIFTS)) >> vec4<u32>(24u));
}

// The four low (shift 0) or high (shift 4) nibbles of q, as integers.
fn dot_nibbles(q: u32, shift: u32) -> vec4<u32> {
  return (vec4<u32>(q >> shift) >> DOT_BYTE_SHIFTS) & vec4<u32>(15u);
}
