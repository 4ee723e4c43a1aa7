// Tile arithmetic of the prefill matmul, f32 path: tiles and products in f32.
// A kernel that says `//#include arith` stores its tiles as vec4<Tile> and
// converts f32 values into them with to_tile (shaders/arith/f16.wgsl is the
// f16 path).
alias Tile = f32;

fn to_tile(v: vec4<f32>) -> vec4<Tile> {
  return v;
}
