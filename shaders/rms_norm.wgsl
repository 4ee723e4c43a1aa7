// rms_norm: x[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight[:]
// (weight omitted when has_weight = 0).
//
// In place on x (the caller copies first when the output is another buffer:
// WebGPU forbids binding one buffer twice when one binding is writable).
// Layout: x is n_rows x dim f32, row-major; weight is dim f32.
// Dispatch: one workgroup of WG threads per row (n_rows workgroups); the
// threads stride over the row and reduce the sum of squares in shared memory.

//#include rms_norm_row
//#include workgroup_sum

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * params.dim;
  scale_row(base, lid, WG, workgroup_sum(lid, sum_squares(base, lid, WG)));
}
