// gelu_mul: out[i] = gelu(gate[i]) * up[i] with ggml's tanh approximation
// gelu(g) = 0.5 g (1 + tanh(sqrt(2/pi) g (1 + 0.044715 g^2))).
// In place: `dst` is the output and holds either the gate (GATE_IS_TARGET)
// or the up values; `other` holds the rest. WebGPU forbids binding one buffer
// twice when one binding is writable, so the caller copies first when the
// output is a third buffer.
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= params.count) {
    return;
  }
  let t = dst[i];
  let o = other[i];
  let g = select(o, t, GATE_IS_TARGET);
  let u = select(t, o, GATE_IS_TARGET);
  // Clamped: some tanh implementations return NaN for huge arguments.
  let inner = clamp(SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g), -15.0, 15.0);
  dst[i] = 0.5 * g * (1.0 + tanh(inner)) * u;
}
