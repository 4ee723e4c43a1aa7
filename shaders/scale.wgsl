// scale: x[i] *= s, in place.
// Layout: f32 array of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

struct Params {
  count: u32,
  s: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

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
  x[i] *= params.s;
}
