// attention_decode_split: pass 1 of 2 of decode attention (one query token
// at position step.pos): each workgroup takes CHUNK consecutive keys of one
// head, and leaves what pass 2 (attention_decode_merge) needs to combine the
// chunks exactly (online softmax): the chunk's largest score m, the sum l of
// exp(score - m), and the exp-weighted sum of its value rows. No score
// matrix is kept, so the scratch is n_heads x chunks x (HEAD_DIM + 2).
//
// score_j = softcap(scale * q[h] . K[first_key + j, kvh]), kvh = h / (n_heads / n_kv_heads);
// keys first_key ..= pos (first_key = pos + 1 - window under a sliding window).
// Layout: q: n_heads * HEAD_DIM f32 (the start of the qkv buffer); caches
// [pos][n_kv_heads * HEAD_DIM] through the kv piece; scratch: partials
// [n_heads][max_chunks][HEAD_DIM], then stats [n_heads][max_chunks][2].
// Dispatch (indirect, counts written with the step): up to (chunks,
// n_heads, 1) workgroups of WG = CHUNK threads, thread j scoring key j of
// the chunk; with fewer (CPU emulations) each workgroup takes several.

//#include attention_decode_common
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
//#include kv
@group(0) @binding(3) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(4) var<storage, read> v_cache: array<KvVec4>;
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;

const D4: u32 = HEAD_DIM / 4u;

var<workgroup> weights: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let keys = step_keys();
  let first_key = keys.x;
  let n_keys = keys.y;
  let n_chunks = (n_keys + WG - 1u) / WG;
  for (var h = wid.y; h < params.n_heads; h += nwg.y) {
    for (var c = wid.x; c < n_chunks; c += nwg.x) {
      attend_chunk(h, c, first_key, n_keys, lid);
      workgroupBarrier();
    }
  }
}

// Chunk c of head h: its scores, their max and exp-sum, and the weighted values.
fn attend_chunk(h: u32, c: u32, first_key: u32, n_keys: u32, lid: u32) {
  let kv_head = h / (params.n_heads / params.n_kv_heads);
  let row_words = params.n_kv_heads * D4;
  let j = c * WG + lid;
  let valid = j < n_keys;

  var s = -3.0e38;
  if (valid) {
    let k_base = (first_key + j) * row_words + kv_head * D4;
    var dot_qk = 0.0;
    for (var d = 0u; d < D4; d++) {
      dot_qk += dot(q[h * D4 + d], kv_vec4(k_cache[k_base + d]));
    }
    s = dot_qk * params.scale;
    if (params.softcap > 0.0) {
      s = params.softcap * tanh(clamp(s / params.softcap, -15.0, 15.0));
    }
  }
  // Max and sum over the chunk with one barrier each: every thread reads
  // all scores (broadcast reads are cheap; barriers are not).
  weights[lid] = s;
  workgroupBarrier();
  var m = weights[0];
  for (var i = 1u; i < WG; i++) {
    m = max(m, weights[i]);
  }
  var l = 0.0;
  for (var i = 0u; i < WG; i++) {
    l += select(0.0, exp(weights[i] - m), c * WG + i < n_keys);
  }
  workgroupBarrier();
  var p = 0.0;
  if (valid) {
    p = exp(s - m);
  }
  weights[lid] = p;
  workgroupBarrier();

  let cell = h * params.max_chunks + c;
  let keys_here = min(WG, n_keys - c * WG);
  for (var t = lid; t < D4; t += WG) {
    var acc = vec4<f32>(0.0);
    for (var i = 0u; i < keys_here; i++) {
      acc += weights[i] * kv_vec4(v_cache[(first_key + c * WG + i) * row_words + kv_head * D4 + t]);
    }
    let o = cell * HEAD_DIM + t * 4u;
    scratch[o] = acc.x;
    scratch[o + 1u] = acc.y;
    scratch[o + 2u] = acc.z;
    scratch[o + 3u] = acc.w;
  }
  if (lid == 0u) {
    let stats = params.n_heads * params.max_chunks * HEAD_DIM + cell * 2u;
    scratch[stats] = m;
    scratch[stats + 1u] = l;
  }
}
