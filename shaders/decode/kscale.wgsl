// Shared by Q4_K and Q5_K: the 6-bit scale and min of sub-block j (0..7)
// packed in the 12 bytes at `scales` (llama.cpp's get_scale_min_k4):
// j < 4: scale = q[j] & 63, min = q[j + 4] & 63; j >= 4: the low four bits
// come from q[j + 4] and the top two from bits 6..7 of q[j - 4] / q[j].
fn k4_scale_min(scales: u32, j: u32) -> vec2<u32> {
  if (j < 4u) {
    return vec2<u32>(weight_byte_at(scales + j) & 63u, weight_byte_at(scales + j + 4u) & 63u);
  }
  let packed = weight_byte_at(scales + j + 4u);
  return vec2<u32>(
    (packed & 0x0fu) | ((weight_byte_at(scales + j - 4u) >> 6u) << 4u),
    (packed >> 4u) | ((weight_byte_at(scales + j) >> 6u) << 4u),
  );
}
