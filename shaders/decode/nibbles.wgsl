// Shared by the 4- and 5-bit pieces: the four bytes of a word as a vec4,
// lowest byte first (each byte already masked to its value).
fn bytes4(q: u32) -> vec4<u32> {
  return vec4<u32>(q & 0xffu, (q >> 8u) & 0xffu, (q >> 16u) & 0xffu, q >> 24u);
}

// One byte of the weight buffer at any byte offset.
fn weight_byte_at(byte_offset: u32) -> u32 {
  return (weights[byte_offset >> 2u] >> ((byte_offset & 3u) * 8u)) & 0xffu;
}

// Bits 0..3 of `bits` spread to bit 0 of bytes 0..3 of the result, so a
// per-element high bit can be or-ed into four packed bytes at once.
fn spread_bits4(bits: u32) -> u32 {
  return (bits & 1u) | ((bits & 2u) << 7u) | ((bits & 4u) << 14u) | ((bits & 8u) << 21u);
}

// Elements 4i .. 4i + 3 (i < 8) of a 32-element block whose 16 bytes of
// nibbles start at byte `qs`, in ggml's order (the low nibble of byte j is
// element j, the high one element j + 16): one nibble per byte.
fn block32_nibbles(qs: u32, i: u32) -> u32 {
  let q = weight_word_at(qs + (i & 3u) * 4u);
  return select(q, q >> 4u, i >= 4u) & 0x0f0f0f0fu;
}
