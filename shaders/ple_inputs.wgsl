// ple_inputs: gemma4's per-layer inputs of the decode step's token, every
// layer at once, in place:
//   proj[l, :] = (rmsnorm(proj[l, :] * inv_sqrt_embd) * proj_norm + rows[l, :] * rows_scale) * inv_sqrt2
// where proj[l, :] holds per_layer_model_proj_l . x0 (x0 the scaled token
// embedding) and rows[l, :] the token's row of per_layer_token_embd for layer
// l: gathered on the GPU (rows_scale sqrt(n_per_layer)), or uploaded from the
// file already scaled (rows_scale 1). The same arithmetic per element as the
// batch path's scale, rmsNorm, add, scale.
// Layout: proj, rows: n_layers x n_per_layer f32 (layer-major); proj_norm:
// n_per_layer f32.
// Dispatch: one workgroup of WG threads per layer (fewer on CPU emulations,
// each then taking several layers).

struct Params {
  n_layers: u32,
  n_per_layer: u32,
  eps: f32,
  inv_sqrt_embd: f32,
  inv_sqrt2: f32,
  rows_scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> proj: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<f32>;
@group(0) @binding(3) var<storage, read> proj_norm: array<f32>;

//#include workgroup_sum

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n = params.n_per_layer;
  for (var l = wid.x; l < params.n_layers; l += nwg.x) {
    let base = l * n;
    var sum = 0.0;
    for (var i = lid; i < n; i += WG) {
      let v = proj[base + i] * params.inv_sqrt_embd;
      sum += v * v;
    }
    let inv = inverseSqrt(workgroup_sum(lid, sum) / f32(n) + params.eps);
    for (var i = lid; i < n; i += WG) {
      let v = proj[base + i] * params.inv_sqrt_embd;
      // The row times its scale first, in the upload's order.
      let row = rows[base + i] * params.rows_scale;
      proj[base + i] = (v * inv * proj_norm[i] + row) * params.inv_sqrt2;
    }
    workgroupBarrier();
  }
}
