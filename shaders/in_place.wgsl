// The in-place two-operand elementwise kernels (add, silu_mul, gelu_mul):
// `dst` (count f32) is both an operand and the output, `other` (count f32)
// the second operand. WebGPU forbids binding one buffer twice when one
// binding is writable, so the caller copies first when the output is a
// third buffer.
//#include elementwise

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;
