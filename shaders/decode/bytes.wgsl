// Byte access into the weight buffer. GGUF blocks of 18 or 34 bytes are not
// word aligned, and weights are uploaded unchanged (no repacking), so reads
// of 4 bytes at any byte offset are stitched from two words. The including
// kernel binds `weights: array<u32>`.

fn weight_word_at(byte_offset: u32) -> u32 {
  let w = byte_offset >> 2u;
  let shift = (byte_offset & 3u) * 8u;
  if (shift == 0u) {
    return weights[w];
  }
  return (weights[w] >> shift) | (weights[w + 1u] << (32u - shift));
}

// An f16 at an even byte offset never straddles a word.
fn weight_f16_at(byte_offset: u32) -> f32 {
  let word = weights[byte_offset >> 2u];
  return unpack2x16float(word >> ((byte_offset & 2u) * 8u)).x;
}

// Four signed bytes of a word, lowest byte first.
fn signed_bytes4(q: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(
    bitcast<i32>(q << 24u) >> 24u,
    bitcast<i32>(q << 16u) >> 24u,
    bitcast<i32>(q << 8u) >> 24u,
    bitcast<i32>(q) >> 24u,
  ));
}
