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

//#include rms_norm_row

@compute @workgroup_size(LANES)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.dim;
  let total = subgroupAdd(sum_squares(base, lid, LANES));
  let lanes_here = subgroupAdd(1u);
  if (lanes_here == LANES) {
    scale_row(base, lid, LANES, total);
  } else if (lid == 0u) {
    scale_row(base, 0u, 1u, sum_squares(base, 0u, 1u));
  }
}
