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
//
// ROPE: the decode step's rope_kv folded in (one dispatch fewer per layer).
// q and the step's k and v are read unrotated from the qkv buffer; every
// workgroup normalizes (QK_NORM) and rotates its own q head into workgroup
// memory (rope_kv.wgsl's arithmetic, through rope_math); the workgroups of
// the chunk holding step.pos do the same for their k head and take that key
// and value from workgroup memory, rounded as the cache stores them, and
// the first q head of each k head writes the cache row. No workgroup reads
// the cache row at step.pos, so none waits for that write. V_NORM (gemma4):
// the step's value takes an RMSNorm without weight first. Without KV_NEW
// (gemma4's layers that reuse an earlier layer's cache, whose row at
// step.pos an earlier dispatch wrote): q only, every key from the cache.

//#include attention_decode_common
//#include activations
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
//#include kv
//#if ROPE
@group(0) @binding(3) var<storage, read_write> k_cache: array<KvVec4>;
@group(0) @binding(4) var<storage, read_write> v_cache: array<KvVec4>;
//#else
@group(0) @binding(3) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(4) var<storage, read> v_cache: array<KvVec4>;
//#endif
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;

const D4: u32 = HEAD_DIM / 4u;

var<workgroup> weights: array<f32, WG>;

//#if ROPE
//#include rope_store
@group(0) @binding(6) var<uniform> rope: RopeStore;
@group(0) @binding(7) var<storage, read> freq_factors: array<f32>;
//#if QK_NORM
@group(0) @binding(8) var<storage, read> q_norm: array<f32>;
@group(0) @binding(9) var<storage, read> k_norm: array<f32>;
//#endif
//#include rope_math

// The head being rotated (q, then k), and the step's k and v as the cache
// holds them.
var<workgroup> head: array<f32, HEAD_DIM>;
var<workgroup> q_rot: array<vec4<f32>, D4>;
var<workgroup> k_new: array<KvVec4, D4>;
var<workgroup> v_new: array<KvVec4, D4>;

// Head slot `slot` of qkv (q heads, then k heads, then v heads) into `head`. Ends on a barrier.
fn load_head(slot: u32, lid: u32) {
  for (var d = lid; d < HEAD_DIM; d += WG) {
    let v4 = q[(slot * HEAD_DIM + d) / 4u];
    head[d] = v4[d & 3u];
  }
  workgroupBarrier();
}

// 1 / rms of `head` (every thread adds up the whole head).
fn head_inv_rms() -> f32 {
  var sq = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    sq += head[d] * head[d];
  }
  return inverseSqrt(sq / f32(HEAD_DIM) + rope.eps);
}

// Head slot `slot` of qkv (q heads, then k heads) into `head`: per-head
// RMSNorm (QK_NORM) and rotation at step.pos, as rope_kv. Ends on a barrier.
fn rotate_head(slot: u32, is_q: bool, lid: u32) {
  load_head(slot, lid);
//#if QK_NORM
  let inv = head_inv_rms();
  workgroupBarrier();
  for (var d = lid; d < HEAD_DIM; d += WG) {
    if (is_q) {
      head[d] = head[d] * inv * q_norm[d];
    } else {
      head[d] = head[d] * inv * k_norm[d];
    }
  }
  workgroupBarrier();
//#endif
  let half_rot = rope.n_rot / 2u;
  var mscale = rope.mscale;
  if (is_q) {
    mscale *= temperature(step.pos, rope.temp_scale, rope.temp_length);
  }
  for (var i = lid; i < half_rot; i += WG) {
    var freq_factor = 1.0;
    if (rope.has_freq_factors != 0u) {
      freq_factor = freq_factors[i];
    }
    let theta = rope_theta(f32(step.pos), i, rope.theta_scale, freq_factor, rope.freq_scale, rope.ext_factor, rope.corr_low, rope.corr_high);
    let at = rope_pair(i, half_rot, rope.neox != 0u);
    let rotated = rope_rotate(head[at.x], head[at.y], sin_cos(theta) * mscale);
    head[at.x] = rotated.x;
    head[at.y] = rotated.y;
  }
  workgroupBarrier();
}
//#endif

// Four elements of head h's query.
fn q4(h: u32, d: u32) -> vec4<f32> {
//#if ROPE
  return q_rot[d];
//#else
  return q[h * D4 + d];
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let keys = step_keys();
  let first_key = keys.x;
  let n_keys = keys.y;
  let n_chunks = (n_keys + WG - 1u) / WG;
  for (var h = wid.y; h < params.n_heads; h += nwg.y) {
//#if ROPE
    rotate_head(h, true, lid);
    for (var t = lid; t < D4; t += WG) {
      q_rot[t] = vec4<f32>(head[4u * t], head[4u * t + 1u], head[4u * t + 2u], head[4u * t + 3u]);
    }
    workgroupBarrier();
//#endif
    for (var c = wid.x; c < n_chunks; c += nwg.x) {
//#if KV_NEW
      if (c == n_chunks - 1u) {
        new_key_value(h, lid);
      }
//#endif
      attend_chunk(h, c, first_key, n_keys, lid);
      workgroupBarrier();
    }
  }
}

//#if KV_NEW
// The step's key (rotated) and value of head h's k head, as the cache holds
// them, into k_new / v_new; the first q head of each k head writes them to
// the cache row at step.pos. Ends on a barrier.
fn new_key_value(h: u32, lid: u32) {
  let n_rep = params.n_heads / params.n_kv_heads;
  let kv_head = h / n_rep;
  rotate_head(params.n_heads + kv_head, false, lid);
  let v_slot = params.n_heads + params.n_kv_heads + kv_head;
  for (var t = lid; t < D4; t += WG) {
    k_new[t] = kv_pack4(vec4<f32>(head[4u * t], head[4u * t + 1u], head[4u * t + 2u], head[4u * t + 3u]));
  }
//#if V_NORM
  workgroupBarrier();
  load_head(v_slot, lid);
  let inv = head_inv_rms();
//#endif
  for (var t = lid; t < D4; t += WG) {
//#if V_NORM
    let v = kv_pack4(vec4<f32>(head[4u * t], head[4u * t + 1u], head[4u * t + 2u], head[4u * t + 3u]) * inv);
//#else
    let v = kv_pack4(q[v_slot * D4 + t]);
//#endif
    v_new[t] = v;
    if (h % n_rep == 0u) {
      k_cache[cache_at(step.pos, kv_head, t)] = k_new[t];
      v_cache[cache_at(step.pos, kv_head, t)] = v;
    }
  }
  workgroupBarrier();
}
//#endif

// Where elements 4d.. of k head kv_head's row at position pos lie in a cache (KvVec4 units).
fn cache_at(pos: u32, kv_head: u32, d: u32) -> u32 {
  return (pos * params.n_kv_heads + kv_head) * D4 + d;
}

// Key j of the step's keys, 4 elements at d, of k head kv_head.
fn key4(first_key: u32, j: u32, kv_head: u32, d: u32) -> vec4<f32> {
//#if KV_NEW
  if (first_key + j == step.pos) {
    return kv_vec4(k_new[d]);
  }
//#endif
  return kv_vec4(k_cache[cache_at(first_key + j, kv_head, d)]);
}

// The same for the value rows.
fn value4(first_key: u32, j: u32, kv_head: u32, d: u32) -> vec4<f32> {
//#if KV_NEW
  if (first_key + j == step.pos) {
    return kv_vec4(v_new[d]);
  }
//#endif
  return kv_vec4(v_cache[cache_at(first_key + j, kv_head, d)]);
}

// Chunk c of head h: its scores, their max and exp-sum, and the weighted values.
fn attend_chunk(h: u32, c: u32, first_key: u32, n_keys: u32, lid: u32) {
  let kv_head = h / (params.n_heads / params.n_kv_heads);
  let j = c * WG + lid;
  let valid = j < n_keys;

  var s = -3.0e38;
  if (valid) {
    var dot_qk = 0.0;
    for (var d = 0u; d < D4; d++) {
      dot_qk += dot(q4(h, d), key4(first_key, j, kv_head, d));
    }
    s = dot_qk * params.scale;
    if (params.softcap > 0.0) {
      s = soft_cap(s, params.softcap);
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
      acc += weights[i] * value4(first_key, c * WG + i, kv_head, t);
    }
    let o = cell * HEAD_DIM + t * 4u;
    scratch[o] = acc.x;
    scratch[o + 1u] = acc.y;
    scratch[o + 2u] = acc.z;
    scratch[o + 3u] = acc.w;
  }
  if (lid == 0u) {
    let stats = stats_at(cell);
    scratch[stats] = m;
    scratch[stats + 1u] = l;
  }
}
