// Shared by rms_norm and rms_norm_subgroup, which GpuOps.rmsNorm dispatches
// with one field list: the Params and bindings (x: n_rows x dim f32 in
// place, weight: dim f32 unless has_weight = 0) and the row's two loops,
// each over the elements first, first + stride, ... of the row at `base`.

struct Params {
  dim: u32,
  eps: f32,
  has_weight: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;

fn sum_squares(base: u32, first: u32, stride: u32) -> f32 {
  var sum = 0.0;
  for (var i = first; i < params.dim; i += stride) {
    let v = x[base + i];
    sum += v * v;
  }
  return sum;
}

// x[base + i] = x[base + i] / sqrt(squares / dim + eps) * weight[i].
fn scale_row(base: u32, first: u32, stride: u32, squares: f32) {
  let inv = inverseSqrt(squares / f32(params.dim) + params.eps);
  for (var i = first; i < params.dim; i += stride) {
    var v = x[base + i] * inv;
    if (params.has_weight != 0u) {
      v *= weight[i];
    }
    x[base + i] = v;
  }
}
