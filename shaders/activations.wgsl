// The elementwise functions the kernels share, computed as ggml does.

// tanh with its argument clamped to +-15 (tanh(15) is 1 in f32): some tanh
// implementations return NaN for huge arguments.
fn safe_tanh(x: f32) -> f32 {
  return tanh(clamp(x, -15.0, 15.0));
}

// The soft cap c * tanh(x / c) (gemma2's attention and final logits).
fn soft_cap(x: f32, c: f32) -> f32 {
  return c * safe_tanh(x / c);
}

// silu(x) = x / (1 + exp(-x)).
fn silu(x: f32) -> f32 {
  return x / (1.0 + exp(-x));
}

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

// ggml's tanh approximation gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) x (1 + 0.044715 x^2))).
fn gelu(x: f32) -> f32 {
  return 0.5 * x * (1.0 + safe_tanh(SQRT_2_OVER_PI * x * (1.0 + GELU_COEF_A * x * x)));
}
