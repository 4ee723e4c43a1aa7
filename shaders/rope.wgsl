// rope: in-place rotary position embedding, computed the way ggml does it:
// for pair i < n_rot / 2 of every head of token t at position p = start_pos + t,
//   theta_extrap = (p * theta_scale^i) / freq_factor[i],
//   theta_scale = freq_base^(-2 / n_rot)   (computed on the CPU, in f32)
//   theta = freq_scale * theta_extrap, or with YaRN (ext_factor != 0) a mix
//     of the two by a ramp over pairs corr_low..corr_high,
// with theta_scale^i by repeated f32 multiplication as ggml does, and rotates
// (a, b) to mscale * (a cos - b sin, a sin + b cos), where (a, b) are
// x[2i], x[2i + 1] (adjacent mode) or x[i], x[i + n_rot / 2] (NeoX mode).
// mscale is llama.cpp's attention factor (1 unless phi3 longrope or YaRN),
// YaRN's magnitude correction already folded in on the CPU, times the
// query temperature when temp_scale != 0 (mistral3's q). Dimensions
// n_rot..head_dim pass through.
//
// Layout: x is n_tokens x (n_heads * head_dim) f32; freq_factors: n_rot / 2 f32.
// Dispatch: one thread per (token, head, pair), WG per workgroup, 2D grid
// when needed.

//#include rope_store

struct Params {
  n_tokens: u32,
  n_heads: u32,
  head_dim: u32,
  start_pos: u32,
  rope: RopeStore,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> freq_factors: array<f32>;

//#include rope_math

//#include grid

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let index = grid_index(gid, nwg);
  let half_rot = params.rope.n_rot / 2u;
  let pairs_per_token = params.n_heads * half_rot;
  let t = index / pairs_per_token;
  if (t >= params.n_tokens) {
    return;
  }
  let head = (index % pairs_per_token) / half_rot;
  let i = index % half_rot;

  var freq_factor = 1.0;
  if (params.rope.has_freq_factors != 0u) {
    freq_factor = freq_factors[i];
  }
  let pos = params.start_pos + t;
  let mixed = rope_theta(f32(pos), i, params.rope.theta_scale, freq_factor, params.rope.freq_scale, params.rope.ext_factor, params.rope.corr_low, params.rope.corr_high);
  let sc = sin_cos(mixed) * params.rope.mscale * temperature(pos, params.rope.temp_scale, params.rope.temp_length);

  let head_base = t * params.n_heads * params.head_dim + head * params.head_dim;
  let at = head_base + rope_pair(i, half_rot, params.rope.neox != 0u);
  let rotated = rope_rotate(x[at.x], x[at.y], sc);
  x[at.x] = rotated.x;
  x[at.y] = rotated.y;
}
