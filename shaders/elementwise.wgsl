// The entry point of the one-thread-per-element kernels: invocation i of the
// grid (ceil(count / WG) workgroups of WG, 2D when needed) runs the kernel's
// `element(i)` for i < params.count (Params starts with `count`).
//#include grid

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = grid_index(gid, nwg);
  if (i < params.count) {
    element(i);
  }
}
