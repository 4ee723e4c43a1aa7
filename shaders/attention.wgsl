// attention: causal grouped-query attention of one query head of one token
// over the KV cache, with a numerically stable streaming softmax:
//   out[t, h, :] = sum_j softmax_j(s_j) * V[j, kvh, :],
//   s_j = softcap(scale * q[t, h, :] . K[j, kvh, :]),  kvh = h / (n_heads / n_kv_heads),
// for keys j from max(0, p - window + 1) (window = 0: from 0) to p = start_pos + t.
// softcap(x) = c * tanh(x / c) when c > 0.
//
// Layout: q and out are n_tokens x (n_heads * HEAD_DIM) f32; the caches are
// rows [pos][n_kv_heads * HEAD_DIM] of f32 or packed f16 (the kv piece,
// shaders/kv/*.wgsl, says which; reads go through kv_vec4 / kv_element).
// Dispatch: (n_heads, n_tokens) workgroups of WG threads. Keys go in chunks
// of WG, one key per thread for the scores; then each thread accumulates
// the weighted values of its own DIMS_PER_THREAD output dimensions.

struct Params {
  n_tokens: u32,
  start_pos: u32,
  n_heads: u32,
  n_kv_heads: u32,
  scale: f32,
  window: u32,
  softcap: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
//#include kv
@group(0) @binding(2) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(3) var<storage, read> v_cache: array<KvWord>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

const D4: u32 = HEAD_DIM / 4u;
const DIMS_PER_THREAD: u32 = (HEAD_DIM + WG - 1u) / WG;
// Lower than any score, yet exp(NEG_BIG - m) stays 0 instead of NaN.
const NEG_BIG: f32 = -3.0e38;

var<workgroup> q_shared: array<vec4<f32>, D4>;
var<workgroup> probs: array<f32, WG>;
// Declares `partial` (WG f32), which the max over a chunk's scores uses too.
//#include workgroup_sum

//#include activations

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  let t = wid.y;
  let pos = params.start_pos + t;
  let kv_head = h / (params.n_heads / params.n_kv_heads);
  let q_base = (t * params.n_heads + h) * D4;
  let kv_stride4 = params.n_kv_heads * D4;
  let kv_off4 = kv_head * D4;

  for (var d = lid; d < D4; d += WG) {
    q_shared[d] = q[q_base + d] * params.scale;
  }
  var first_key = 0u;
  if (params.window > 0u && pos + 1u > params.window) {
    first_key = pos + 1u - params.window;
  }
  workgroupBarrier();

  var m = NEG_BIG;
  var l = 0.0;
  var acc: array<f32, DIMS_PER_THREAD>;
  for (var chunk = first_key; chunk <= pos; chunk += WG) {
    let j = chunk + lid;
    var s = NEG_BIG;
    if (j <= pos) {
      var dot_sum = 0.0;
      let k_base = j * kv_stride4 + kv_off4;
      for (var d = 0u; d < D4; d++) {
        dot_sum += dot(q_shared[d], kv_vec4(k_cache[k_base + d]));
      }
      if (params.softcap > 0.0) {
        dot_sum = soft_cap(dot_sum, params.softcap);
      }
      s = dot_sum;
    }

    partial[lid] = s;
    for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
      workgroupBarrier();
      if (lid < stride) {
        partial[lid] = max(partial[lid], partial[lid + stride]);
      }
    }
    workgroupBarrier();
    let m_new = max(m, partial[0]);
    let alpha = exp(m - m_new);
    workgroupBarrier();

    var p = 0.0;
    if (j <= pos) {
      p = exp(s - m_new);
    }
    probs[lid] = p;
    l = l * alpha + workgroup_sum(lid, p);
    m = m_new;

    let count = min(WG, pos + 1u - chunk);
    for (var i = 0u; i < DIMS_PER_THREAD; i++) {
      let d = lid + i * WG;
      if (d < HEAD_DIM) {
        var a = acc[i] * alpha;
        for (var jj = 0u; jj < count; jj++) {
          let e = (chunk + jj) * params.n_kv_heads * HEAD_DIM + kv_head * HEAD_DIM + d;
          a += probs[jj] * kv_element(v_cache[e / KV_PER_WORD], e);
        }
        acc[i] = a;
      }
    }
    workgroupBarrier();
  }

  let out_base = (t * params.n_heads + h) * HEAD_DIM;
  for (var i = 0u; i < DIMS_PER_THREAD; i++) {
    let d = lid + i * WG;
    if (d < HEAD_DIM) {
      out[out_base + d] = acc[i] / l;
    }
  }
}
