// attention_decode_cells: pass 1 of decode attention as
// attention_decode_split computes it (same chunks of CHUNK keys, same
// partials and statistics for attention_decode_merge), with one thread per
// (head, chunk) cell doing the whole chunk alone: online softmax over its
// keys and the weighted sum of their values in registers. No barrier and
// no workgroup memory: the variant for CPU emulations, where a barrier
// costs a context switch per invocation.
//
// Layout: as attention_decode_split.
// Dispatch (indirect, written with the step): (workgroups, 1, 1) of WG
// threads; thread g takes cells g, g + all threads, ..., cell = head * chunks + chunk.

//#include attention_decode_common
//#include activations
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
//#include kv
@group(0) @binding(3) var<storage, read> k_cache: array<KvVec4>;
@group(0) @binding(4) var<storage, read> v_cache: array<KvVec4>;
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;

const D4: u32 = HEAD_DIM / 4u;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let keys = step_keys();
  let first_key = keys.x;
  let n_keys = keys.y;
  let n_chunks = (n_keys + CHUNK - 1u) / CHUNK;
  let row_words = params.n_kv_heads * D4;
  for (var cell = gid.x; cell < params.n_heads * n_chunks; cell += nwg.x * WG) {
    let h = cell / n_chunks;
    let c = cell % n_chunks;
    let kv_head = h / (params.n_heads / params.n_kv_heads);
    let last = min(n_keys, (c + 1u) * CHUNK);
    var m = -3.0e38;
    var l = 0.0;
    var acc: array<vec4<f32>, D4>;
    for (var j = c * CHUNK; j < last; j++) {
      let row = (first_key + j) * row_words + kv_head * D4;
      var s = 0.0;
      for (var d = 0u; d < D4; d++) {
        s += dot(q[h * D4 + d], kv_vec4(k_cache[row + d]));
      }
      s *= params.scale;
      if (params.softcap > 0.0) {
        s = soft_cap(s, params.softcap);
      }
      let m_new = max(m, s);
      let rescale = exp(m - m_new);
      let p = exp(s - m_new);
      l = l * rescale + p;
      for (var d = 0u; d < D4; d++) {
        acc[d] = acc[d] * rescale + p * kv_vec4(v_cache[row + d]);
      }
      m = m_new;
    }
    let slot = h * params.max_chunks + c;
    for (var d = 0u; d < D4; d++) {
      let o = slot * HEAD_DIM + d * 4u;
      scratch[o] = acc[d].x;
      scratch[o + 1u] = acc[d].y;
      scratch[o + 2u] = acc[d].z;
      scratch[o + 3u] = acc[d].w;
    }
    let stats = stats_at(slot);
    scratch[stats] = m;
    scratch[stats + 1u] = l;
  }
}
