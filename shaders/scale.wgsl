// scale: x[i] *= s, in place.
// Layout: f32 array of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include elementwise

struct Params {
  count: u32,
  s: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

fn element(i: u32) {
  x[i] *= params.s;
}
