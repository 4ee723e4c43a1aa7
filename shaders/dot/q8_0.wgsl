// Q8_0 dot32: sub-block b is block b (34 bytes: f16 d, 32 signed bytes).
// Blocks start at even offsets, so qs is word aligned or half a word off:
// nine word loads either way (dot_words8), d applied once to the block's sum.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  let block = row_byte_base + b * 34u;
  let qs = block + 2u;
  let q = dot_words8(qs >> 2u, (qs & 2u) != 0u);
  let k = b * 8u;
  var acc = dot(dot_i8x4(q[0].x), act4(k)) + dot(dot_i8x4(q[0].y), act4(k + 1u));
  acc += dot(dot_i8x4(q[0].z), act4(k + 2u)) + dot(dot_i8x4(q[0].w), act4(k + 3u));
  acc += dot(dot_i8x4(q[1].x), act4(k + 4u)) + dot(dot_i8x4(q[1].y), act4(k + 5u));
  acc += dot(dot_i8x4(q[1].z), act4(k + 6u)) + dot(dot_i8x4(q[1].w), act4(k + 7u));
  return weight_f16_at(block) * acc;
}
