// dot32 for any weight type, from its decode4: the dot product of the 32
// weights 32b .. 32b+31 of the row at `row_byte_base` with the activations
// the including kernel supplies through `act4(k4)` (elements 4k4 .. 4k4+3).
// A type with a faster whole-block decoder has its own file in shaders/dot/.
fn dot32(row_byte_base: u32, b: u32) -> f32 {
  var acc = 0.0;
  for (var i = 0u; i < 8u; i++) {
    let k4 = b * 8u + i;
    acc += dot(decode4(row_byte_base, k4), act4(k4));
  }
  return acc;
}
