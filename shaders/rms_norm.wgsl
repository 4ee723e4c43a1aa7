// rms_norm: x[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:]
// (weight omitted when has_weight = 0).
//
// In place on x (the caller copies first when the output is another buffer:
// WebGPU forbids binding one buffer twice when one binding is writable).
// Layout: x is n_rows x dim f32, row-major; weight is dim f32.
// Dispatch: one workgroup of WG threads per row (n_rows workgroups); the
// threads stride over the row and reduce the sum of squares in shared memory.

struct Params {
  dim: u32,
  eps: f32,
  has_weight: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;

var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.dim;
  var sum = 0.0;
  for (var i = lid; i < params.dim; i += WG) {
    let v = x[base + i];
    sum += v * v;
  }
  partial[lid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
  }
  workgroupBarrier();
  let inv = inverseSqrt(partial[0] / f32(params.dim) + params.eps);
  for (var i = lid; i < params.dim; i += WG) {
    var v = x[base + i] * inv;
    if (params.has_weight != 0u) {
      v *= weight[i];
    }
    x[base + i] = v;
  }
}
