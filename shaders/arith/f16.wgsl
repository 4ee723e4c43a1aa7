// Tile arithmetic of the prefill matmul, f16 path (`shader-f16`): tiles in
// workgroup memory and the products of each 4-column dot in f16 (half the
// workgroup memory and its traffic); the kernel sums those dots in f32.
// Values past f16's range are clamped to +-65504 instead of becoming
// infinity.
enable f16;
alias Tile = f16;

const F16_MAX: f32 = 65504.0;

fn to_tile(v: vec4<f32>) -> vec4<Tile> {
  return vec4<f16>(clamp(v, vec4<f32>(-F16_MAX), vec4<f32>(F16_MAX)));
}
