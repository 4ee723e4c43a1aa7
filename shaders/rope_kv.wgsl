// rope_kv: the decode step between the q/k/v projection and attention, in
// one dispatch: per head, the optional per-head RMSNorm of q and k (qwen3,
// gemma3), the rotary embedding of q and k at position step.pos (rope.wgsl's
// arithmetic, shared through rope_math; n_rot 0 rotates nothing: smollm3's
// NoPE layers; q's temperature where temp_scale != 0), and the new key and value rows
// written into the KV cache (f32, or f16 rounded as ggml does).
//
// V_NORM (gemma4): v heads take an RMSNorm without weight before the cache
// write. Without KV (gemma4's layers that reuse an earlier layer's cache):
// q only; the cache already holds the step's row.
// Layout: qkv is [q: n_heads * HEAD_DIM | k: n_kv_heads * HEAD_DIM | v: same]
// f32; q is rotated in place. Cache rows are [pos][n_kv_heads * HEAD_DIM]
// f32 or packed f16 pairs (u32 words). q_norm / k_norm: HEAD_DIM f32;
// freq_factors: n_rot / 2 f32.
// Dispatch: one thread per head slot (q heads, then k heads, then v
// heads), WG per workgroup: the work is a few thousand elements, too little
// to share a head among threads; no barrier, no workgroup memory.

//#include step

//#include rope_store

struct Params {
  n_heads: u32,
  n_kv_heads: u32,
  _pad0: u32,
  _pad1: u32,
  rope: RopeStore,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read_write> qkv: array<f32>;
@group(0) @binding(3) var<storage, read> freq_factors: array<f32>;
//#if QK_NORM
@group(0) @binding(4) var<storage, read> q_norm: array<f32>;
@group(0) @binding(5) var<storage, read> k_norm: array<f32>;
//#endif
//#if KV_F16
@group(0) @binding(6) var<storage, read_write> k_cache: array<u32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<u32>;
//#include f16_bits
//#else
@group(0) @binding(6) var<storage, read_write> k_cache: array<f32>;
@group(0) @binding(7) var<storage, read_write> v_cache: array<f32>;
//#endif

//#include rope_math

fn inv_rms(head: ptr<function, array<f32, HEAD_DIM>>) -> f32 {
  var sq = 0.0;
  for (var d = 0u; d < HEAD_DIM; d++) {
    sq += (*head)[d] * (*head)[d];
  }
  return inverseSqrt(sq / f32(HEAD_DIM) + params.rope.eps);
}

fn store(is_key: bool, e: u32, value: f32) {
//#if !KV_F16
  if (is_key) {
    k_cache[e] = value;
  } else {
    v_cache[e] = value;
  }
//#endif
}

fn store_pair(is_key: bool, e: u32, a: f32, b: f32) {
//#if KV_F16
  let bits = f16_bits(a) | (f16_bits(b) << 16u);
  if (is_key) {
    k_cache[e / 2u] = bits;
  } else {
    v_cache[e / 2u] = bits;
  }
//#else
  store(is_key, e, a);
  store(is_key, e + 1u, b);
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  if (slot >= select(params.n_heads, params.n_heads + 2u * params.n_kv_heads, KV)) {
    return;
  }
  let is_q = slot < params.n_heads;
  let is_k = !is_q && slot < params.n_heads + params.n_kv_heads;
  let base = slot * HEAD_DIM;
  var head: array<f32, HEAD_DIM>;
  for (var d = 0u; d < HEAD_DIM; d++) {
    head[d] = qkv[base + d];
  }

  if (is_q || is_k) {
//#if QK_NORM
    let inv = inv_rms(&head);
    for (var d = 0u; d < HEAD_DIM; d++) {
      if (is_q) {
        head[d] = head[d] * inv * q_norm[d];
      } else {
        head[d] = head[d] * inv * k_norm[d];
      }
    }
//#endif
    let half_rot = params.rope.n_rot / 2u;
    var mscale = params.rope.mscale;
    if (is_q) {
      mscale *= temperature(step.pos, params.rope.temp_scale, params.rope.temp_length);
    }
    for (var i = 0u; i < half_rot; i++) {
      var freq_factor = 1.0;
      if (params.rope.has_freq_factors != 0u) {
        freq_factor = freq_factors[i];
      }
      let theta = rope_theta(f32(step.pos), i, params.rope.theta_scale, freq_factor, params.rope.freq_scale, params.rope.ext_factor, params.rope.corr_low, params.rope.corr_high);
      let at = rope_pair(i, half_rot, params.rope.neox != 0u);
      let rotated = rope_rotate(head[at.x], head[at.y], sin_cos(theta) * mscale);
      head[at.x] = rotated.x;
      head[at.y] = rotated.y;
    }
  }

  if (is_q) {
    for (var d = 0u; d < HEAD_DIM; d++) {
      qkv[base + d] = head[d];
    }
    return;
  }
  // A k or v head: its part of the cache row at step.pos.
  var kv_head = slot - params.n_heads;
  if (!is_k) {
    kv_head -= params.n_kv_heads;
//#if V_NORM
    let inv = inv_rms(&head);
    for (var d = 0u; d < HEAD_DIM; d++) {
      head[d] *= inv;
    }
//#endif
  }
  let row_start = step.pos * params.n_kv_heads * HEAD_DIM + kv_head * HEAD_DIM;
  for (var d = 0u; d < HEAD_DIM; d += 2u) {
    store_pair(is_k, row_start + d, head[d], head[d + 1u]);
  }
}
