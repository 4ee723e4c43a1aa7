// attention_decode_scores: pass 1 of 3 of split ("flash-decoding") attention
// for one query token at position p (the decode step):
//   scores[h, j] = softcap(scale * q[h, :] . K[first_key + j, kvh, :]),  kvh = h / (n_heads / n_kv_heads),
// for j < n_keys (keys first_key ..= p, first_key > 0 under a sliding window).
// Passes 2 (attention_decode_chunks) and 3 (attention_decode_combine) turn
// the scores into the softmax-weighted sum of values. Splitting the keys
// over many invocations, with no shared memory or barriers at all, is what
// makes long contexts fast on big GPUs and short ones fast on SwiftShader.
//
// Layout: q is n_heads * HEAD_DIM f32; the caches are rows
// [pos][n_kv_heads * HEAD_DIM] of f32 or packed f16 (read through the kv
// piece, shaders/kv/*.wgsl); scores (in `scratch`) are
// n_heads x n_keys f32 from element 0.
// Dispatch: grid of ceil(n_heads * n_keys / WG) workgroups, one invocation
// per (key, head), heads fastest so neighbours share a key row.

//#include attention_split
//#include activations
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
//#include kv
@group(0) @binding(2) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;

const D4: u32 = HEAD_DIM / 4u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = grid_index(gid, nwg);
  if (g >= params.n_heads * params.n_keys) {
    return;
  }
  let h = g % params.n_heads;
  let j = g / params.n_heads;
  let kv_head = h / (params.n_heads / params.n_kv_heads);
  let k_base = (params.first_key + j) * params.n_kv_heads * D4 + kv_head * D4;
  let q_base = h * D4;
  var s = 0.0;
  for (var d = 0u; d < D4; d++) {
    s += dot(q[q_base + d], kv_vec4(k_cache[k_base + d]));
  }
  s *= params.scale;
  if (params.softcap > 0.0) {
    s = soft_cap(s, params.softcap);
  }
  scratch[h * params.n_keys + j] = s;
}
