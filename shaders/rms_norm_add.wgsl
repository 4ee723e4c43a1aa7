// rms_norm_add: x[:] = (x[:] + y[:] / sqrt(mean(y^2) + eps) * weight[:]) * scale
// for one row: gemma's post-norm of a block's output followed by the
// residual add (and gemma4's layer_output_scale; 1 elsewhere),
// in one dispatch of the decode step (the reference path runs rmsNorm and
// add, with the same arithmetic per element).
// Layout: x, y: dim f32; weight: dim f32.
// Dispatch: one workgroup of WG threads.

struct Params {
  dim: u32,
  eps: f32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;

//#include workgroup_sum

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  for (var i = lid; i < params.dim; i += WG) {
    let v = y[i];
    sum += v * v;
  }
  let inv = inverseSqrt(workgroup_sum(lid, sum) / f32(params.dim) + params.eps);
  for (var i = lid; i < params.dim; i += WG) {
    x[i] = (x[i] + y[i] * inv * weight[i]) * params.scale;
  }
}
