// attention_decode_chunks: pass 2 of 3 of split decode attention (see
// attention_decode_scores.wgsl). For each head h and chunk c of CHUNK keys,
// with s_j the pass-1 scores of the chunk:
//   m[h, c] = max_j s_j,  l[h, c] = sum_j exp(s_j - m),
//   acc[h, c, d] = sum_j exp(s_j - m) * V[first_key + j, kvh, d].
// Pass 3 rescales the chunks to a common maximum (the online-softmax merge).
//
// Layout (in `scratch`, f32 elements): scores n_heads x n_keys from 0;
// acc n_heads x n_chunks x HEAD_DIM from partials_offset; (m, l) pairs
// n_heads x n_chunks from stats_offset. V: rows [pos][n_kv_heads * HEAD_DIM]
// of f32 or packed f16 (read through the kv piece, shaders/kv/*.wgsl).
// Dispatch: grid of ceil(n_heads * n_chunks * HEAD_DIM / WG) workgroups, one
// invocation per (head, chunk, dim), dims fastest (neighbours read
// neighbouring V elements). Each invocation redoes its chunk's max and sum
// from the scores: CHUNK cached reads, cheaper than any barrier.

//#include attention_split
//#include kv
@group(0) @binding(1) var<storage, read> v_cache: array<KvWord>;
@group(0) @binding(2) var<storage, read_write> scratch: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = grid_index(gid, nwg);
  if (g >= params.n_heads * params.n_chunks * HEAD_DIM) {
    return;
  }
  let d = g % HEAD_DIM;
  let hc = g / HEAD_DIM;
  let c = hc % params.n_chunks;
  let h = hc / params.n_chunks;
  let kv_head = h / (params.n_heads / params.n_kv_heads);
  let first = c * CHUNK;
  let end = min(first + CHUNK, params.n_keys);
  let scores = h * params.n_keys;

  var m = scratch[scores + first];
  for (var j = first + 1u; j < end; j++) {
    m = max(m, scratch[scores + j]);
  }
  var l = 0.0;
  var acc = 0.0;
  let v_stride = params.n_kv_heads * HEAD_DIM;
  let v_base = params.first_key * v_stride + kv_head * HEAD_DIM + d;
  for (var j = first; j < end; j++) {
    let p = exp(scratch[scores + j] - m);
    l += p;
    let e = v_base + j * v_stride;
    acc += p * kv_element(v_cache[e / KV_PER_WORD], e);
  }
  scratch[params.partials_offset + hc * HEAD_DIM + d] = acc;
  if (d == 0u) {
    scratch[params.stats_offset + hc * 2u] = m;
    scratch[params.stats_offset + hc * 2u + 1u] = l;
  }
}
