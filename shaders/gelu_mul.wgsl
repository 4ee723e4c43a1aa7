// gelu_mul: out[i] = gelu(gate[i]) * up[i] with ggml's tanh approximation
// gelu(g) = 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))), in place (see
// gated_unit.wgsl and in_place.wgsl for the bindings).
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include gated_unit
//#include activations

fn activation(g: f32) -> f32 {
  return gelu(g);
}
