// silu_mul: out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)).
// In place: `dst` is the output and holds either the gate (GATE_IS_TARGET)
// or the up values; `other` holds the rest. WebGPU forbids binding one buffer
// twice when one binding is writable, so the caller copies first when the
// output is a third buffer.
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

struct Params {
  count: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;

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
  let t = dst[i];
  let o = other[i];
  let g = select(o, t, GATE_IS_TARGET);
  let u = select(t, o, GATE_IS_TARGET);
  dst[i] = g / (1.0 + exp(-g)) * u;
}
