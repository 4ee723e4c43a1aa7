// The fifth bits of the Q5_0 and Q5_1 int8 pieces (after helpers.wgsl and
// the decode piece's nibble helpers).

// Q5_0 / Q5_1: the nibble words of qs (low: elements 0..15, high: 16..31)
// with their fifth bits (bit j of qh is element j's) at bit 4 of each byte.
fn i8_q5_words(q: vec4<u32>, qh: u32) -> array<vec4<u32>, 2> {
  let lo = vec4<u32>(spread_bits4(qh), spread_bits4(qh >> 4u), spread_bits4(qh >> 8u), spread_bits4(qh >> 12u));
  let hi = vec4<u32>(spread_bits4(qh >> 16u), spread_bits4(qh >> 20u), spread_bits4(qh >> 24u), spread_bits4(qh >> 28u));
  return array<vec4<u32>, 2>(i8_nibbles(q, 0u) | (lo << vec4<u32>(4u)), i8_nibbles(q, 4u) | (hi << vec4<u32>(4u)));
}
