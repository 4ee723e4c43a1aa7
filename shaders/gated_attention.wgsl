// gated_attention: the two halves of qwen35's joint q/gate projection,
// which holds per head `head_dim` query values then `head_dim` gate values
// (qg is n_tokens x n_heads x 2 x head_dim). Without GATE: copies the query
// halves into q (n_tokens x n_heads x head_dim); with GATE: multiplies the attention
// output x (same layout as q) by sigmoid of the gate halves, in place.
// Dispatch: one thread per element of q / x, WG per workgroup, 2D grid.

//#include elementwise

struct Params {
  count: u32,
  head_dim: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qg: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

fn element(i: u32) {
  let head = i / params.head_dim;
  let src = head * 2u * params.head_dim + i % params.head_dim;
  if (GATE) {
    let g = qg[src + params.head_dim];
    x[i] = x[i] / (1.0 + exp(-g));
  } else {
    x[i] = qg[src];
  }
}
