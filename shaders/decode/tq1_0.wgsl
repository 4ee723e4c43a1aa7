// TQ1_0: super-blocks of 256 elements in 54 bytes: qs[48] @0, qh[4] @48,
// f16 d @52. A byte holds base-3 digits as a fixed-point fraction: digit n
// of byte b is ((b * 3^n mod 256) * 3) >> 8, in {0, 1, 2}. Elements 0..159:
// digit n of qs[m] is element 32n + m; 160..239: digit n of qs[32 + m] is
// 160 + 16n + m; 240..255: digit n of qh[j] is 240 + 4n + j. Four elements
// e .. e+3 are one digit of four consecutive bytes. x = (digit - 1) * d.
fn decode4(row_byte_base: u32, k4: u32) -> vec4<f32> {
  let block = row_byte_base + (k4 >> 6u) * 54u;
  let e = (k4 & 63u) * 4u;
  var byte = 48u;
  var n = (e - 240u) >> 2u;
  if (e < 160u) {
    byte = e & 31u;
    n = e >> 5u;
  } else if (e < 240u) {
    byte = 32u + ((e - 160u) & 15u);
    n = (e - 160u) >> 4u;
  }
  let pow3 = array<u32, 5>(1u, 3u, 9u, 27u, 81u)[n];
  let digits = (((bytes4(weight_word_at(block + byte)) * pow3) & vec4<u32>(255u)) * 3u) >> vec4<u32>(8u);
  return (vec4<f32>(digits) - 1.0) * weight_f16_at(block + 52u);
}
