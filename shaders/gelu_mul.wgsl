// gelu_mul: out[i] = gelu(gate[i]) * up[i] with ggml's tanh approximation
// gelu(g) = 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))), in place (see
// gated_unit.wgsl and in_place.wgsl for the bindings).
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include gated_unit

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

fn activation(g: f32) -> f32 {
  // Clamped: some tanh implementations return NaN for huge arguments.
  let inner = clamp(SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g), -15.0, 15.0);
  return 0.5 * g * (1.0 + tanh(inner));
}
