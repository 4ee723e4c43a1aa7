// rms_norm_subgroup: x[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:]
// (weight omitted when has_weight = 0), on devices with `subgroups`. Same
// bindings and result as rms_norm.wgsl, without shared memory or barriers.
//
// In place on x (see rms_norm.wgsl). Layout: x is n_rows x dim f32,
// row-major; weight is dim f32.
// Dispatch: one workgroup of LANES invocations per row (n_rows workgroups),
// LANES = the adapter's smallest subgroup size, so a workgroup is normally
// one subgroup: the lanes stride over the row and subgroupAdd gives the sum
// of squares to all of them. If the device splits the workgroup over
// several subgroups anyway (each then holds fewer than LANES lanes), the
// first invocation normalizes the row alone.

enable subgroups;

struct Params {
  dim: u32,
  eps: f32,
  has_weight: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;

fn scale_row(base: u32, first: u32, stride: u32, inv: f32) {
  for (var i = first; i < params.dim; i += stride) {
    var v = x[base + i] * inv;
    if (params.has_weight != 0u) {
      v *= weight[i];
    }
    x[base + i] = v;
  }
}

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.dim;
  var sum = 0.0;
  for (var i = lid; i < params.dim; i += LANES) {
    let v = x[base + i];
    sum += v * v;
  }
  let total = subgroupAdd(sum);
  let lanes_here = subgroupAdd(1u);
  if (lanes_here == LANES) {
    scale_row(base, lid, LANES, inverseSqrt(total / f32(params.dim) + params.eps));
  } else if (lid == 0u) {
    var alone = 0.0;
    for (var i = 0u; i < params.dim; i++) {
      let v = x[base + i];
      alone += v * v;
    }
    scale_row(base, 0u, 1u, inverseSqrt(alone / f32(params.dim) + params.eps));
  }
}
