// rope: in-place rotary position embedding, as ggml computes it (no YaRN):
// for pair i < n_rot / 2 of every head of token t at position p = start_pos + t,
//   theta = p * freq_scale * freq_base^(-2i / n_rot) / freq_factor[i]
// rotates (a, b) to (a cos - b sin, a sin + b cos), where (a, b) are
// x[2i], x[2i + 1] (adjacent mode) or x[i], x[i + n_rot / 2] (NeoX mode).
// Dimensions n_rot..head_dim pass through.
//
// Layout: x is n_tokens x (n_heads * head_dim) f32; freq_factors: n_rot / 2 f32.
// Dispatch: one thread per (token, head, pair), WG per workgroup, 2D grid
// when needed.

struct Params {
  n_tokens: u32,
  n_heads: u32,
  head_dim: u32,
  n_rot: u32,
  start_pos: u32,
  freq_base: f32,
  freq_scale: f32,
  neox: u32,
  has_freq_factors: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> freq_factors: array<f32>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let index = (wid.y * nwg.x + wid.x) * WG + lid;
  let half_rot = params.n_rot / 2u;
  let pairs_per_token = params.n_heads * half_rot;
  let t = index / pairs_per_token;
  if (t >= params.n_tokens) {
    return;
  }
  let head = (index % pairs_per_token) / half_rot;
  let i = index % half_rot;

  let pos = f32(params.start_pos + t);
  var theta = params.freq_scale * pos * pow(params.freq_base, -2.0 * f32(i) / f32(params.n_rot));
  if (params.has_freq_factors != 0u) {
    theta /= freq_factors[i];
  }
  let c = cos(theta);
  let s = sin(theta);

  let head_base = t * params.n_heads * params.head_dim + head * params.head_dim;
  var ia = head_base + 2u * i;
  var ib = ia + 1u;
  if (params.neox != 0u) {
    ia = head_base + i;
    ib = ia + half_rot;
  }
  let a = x[ia];
  let b = x[ib];
  x[ia] = a * c - b * s;
  x[ib] = a * s + b * c;
}
