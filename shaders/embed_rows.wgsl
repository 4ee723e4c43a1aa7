// embed_rows: out[t, :] = decoded row ids[t] of a weight matrix, for the
// tokens whose id falls in this part's rows [row_offset, row_offset + rows).
//
// Layout: W as in matvec (GGUF blocks); ids: n_tokens u32; out: n_tokens x
// cols f32, token-major; or, with group > 0 (a multiple of 4 dividing cols),
// each row's columns in groups of `group` laid out group-major:
// out[g, t, :] = row ids[t], columns g * group .. (gemma4's per-layer table
// rows, layer by layer, as the batch path reads them).
// Dispatch: one thread per (token, 4 columns): n_tokens * cols / 4 threads,
// WG per workgroup, over a 2D grid when needed. Run once per weight part.

struct Params {
  rows: u32,
  cols: u32,
  row_bytes: u32,
  row_offset: u32,
  n_tokens: u32,
  group: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;

//#include decode

//#include grid

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = grid_index(gid, nwg);
  let k4_count = params.cols / 4u;
  let t = index / k4_count;
  if (t >= params.n_tokens) {
    return;
  }
  let id = ids[t];
  if (id < params.row_offset || id >= params.row_offset + params.rows) {
    return;
  }
  let k4 = index % k4_count;
  var at = t * k4_count + k4;
  if (params.group > 0u) {
    let g4 = params.group / 4u;
    at = ((k4 / g4) * params.n_tokens + t) * g4 + k4 % g4;
  }
  out[at] = decode4((id - params.row_offset) * params.row_bytes, k4);
}
