// The Params, bindings and output of the matrix kernels (matvec,
// matvec_subgroup, matmul, matmul_tiled), which GpuOps.matmul dispatches
// with one field list: one part of a weight matrix (`rows` rows of `cols`
// columns from row `row_offset`, row r at byte r * row_bytes of `weights`),
// n_tokens inputs in `x` (the matvecs: 1, token 0) and their outputs
// `out_stride` apart in `out`, and `bias` when has_bias is not 0.

struct Params {
  rows: u32,
  cols: u32,
  row_bytes: u32,
  row_offset: u32,
  has_bias: u32,
  n_tokens: u32,
  out_stride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// out[t, row_offset + r] = v (+ bias[row_offset + r]).
fn store_out(t: u32, r: u32, v: f32) {
  let o = params.row_offset + r;
  var y = v;
  if (params.has_bias != 0u) {
    y += bias[o];
  }
  out[t * params.out_stride + o] = y;
}
