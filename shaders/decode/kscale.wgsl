// Shared by Q4_K and Q5_K, whose super-blocks start alike: f16 d @0, f16
// dmin @2, scales[12] @4, and 4-bit quants of sub-block j = e >> 5 in the
// low (j even) or high (j odd) nibbles of qs[(j >> 1) * 32 + (e & 31)].

// The 6-bit scale and min of sub-block j (0..7) packed in the 12 bytes at
// `scales` (llama.cpp's get_scale_min_k4): j < 4: scale = q[j] & 63,
// min = q[j + 4] & 63; j >= 4: the low four bits come from q[j + 4] and the
// top two from bits 6..7 of q[j - 4] / q[j].
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

// (d * scale, dmin * min) of sub-block j of the super-block at byte `block`:
// products exact in f32, so x = scale.x * q - scale.y rounds once.
fn k4_scales(block: u32, j: u32) -> vec2<f32> {
  let sm = k4_scale_min(block + 4u, j);
  return vec2<f32>(weight_f16_at(block) * f32(sm.x), weight_f16_at(block + 2u) * f32(sm.y));
}

// The nibbles of elements e .. e + 3 (e a multiple of 4) from the qs at byte
// `qs`, one per byte.
fn k4_nibbles(qs: u32, e: u32) -> u32 {
  let j = e >> 5u;
  let q = weight_word_at(qs + (j >> 1u) * 32u + (e & 31u));
  return select(q, q >> 4u, (j & 1u) == 1u) & 0x0f0f0f0fu;
}
