// silu_mul: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)),
// in place (see gated_unit.wgsl and in_place.wgsl for the bindings).
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include gated_unit
//#include activations

fn activation(g: f32) -> f32 {
  return silu(g);
}
