// softcap: x[i] = c * tanh(x[i] / c), in place (gemma2 final logit capping).
// Layout: f32 array of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include elementwise
//#include activations

struct Params {
  count: u32,
  c: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

fn element(i: u32) {
  x[i] = soft_cap(x[i], params.c);
}
