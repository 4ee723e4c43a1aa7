// The index of an invocation in a 1D or 2D grid of WG-thread workgroups
// (GpuOps.grid spreads more than the per-dimension limit over y): row y of
// the grid follows row y - 1, so the index is the same as in one long row.
fn grid_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.y * nwg.x * WG + gid.x;
}
