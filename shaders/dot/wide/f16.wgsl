// F16 dot32, wide loads: the kernel binds `weights: array<vec4<u32>>`; a
// sub-block is 64 bytes (4 vec4 loads of 8 halves; element 2i in the low
// half), on 16 bytes for rows of whole 32-blocks.

// Eight elements from one vec4 load, dotted with a (the first 4) and c.
fn f16w_dot8(q: vec4<u32>, a: vec4<f32>, c: vec4<f32>) -> f32 {
  return dot(vec4<f32>(unpack2x16float(q.x), unpack2x16float(q.y)), a) + dot(vec4<f32>(unpack2x16float(q.z), unpack2x16float(q.w)), c);
}

fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let v = (row_byte_base >> 4u) + b * 4u;
  let k = b * 8u;
  return f16w_dot8(weights[v], act4(k), act4(k + 1u)) + f16w_dot8(weights[v + 1u], act4(k + 2u), act4(k + 3u))
    + f16w_dot8(weights[v + 2u], act4(k + 4u), act4(k + 5u)) + f16w_dot8(weights[v + 3u], act4(k + 6u), act4(k + 7u));
}
