// attention_decode_merge: pass 2 of 2 of decode attention: combines the
// chunks of attention_decode_split for each head,
//   out[h, d] = sum_c e^(m_c - M) o_c[d] / sum_c e^(m_c - M) l_c,  M = max_c m_c.
// OUT_GATE (qwen35's gated attention): out[h, d] is multiplied by
// sigmoid(gates[gate_offset + h * HEAD_DIM + d]).
// Layout: scratch as pass 1 writes it; out: n_heads * HEAD_DIM f32.
// Dispatch: up to n_heads workgroups of WG threads over the head's
// dimensions (fewer on CPU emulations, each then taking several heads).

//#include attention_decode_common
@group(0) @binding(2) var<storage, read> scratch: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
//#if OUT_GATE
@group(0) @binding(4) var<storage, read> gates: array<f32>;
//#endif
//#include chunk_merge

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  for (var h = wid.x; h < params.n_heads; h += nwg.x) {
    merge_head(h, lid);
  }
}

fn merge_head(h: u32, lid: u32) {
  let n_chunks = (step_keys().y + CHUNK - 1u) / CHUNK;
  let stats = stats_at(h * params.max_chunks);
  let big_m = chunks_max(stats, n_chunks);
  for (var d = lid; d < HEAD_DIM; d += WG) {
    var y = merge_chunks(stats, h * params.max_chunks * HEAD_DIM + d, n_chunks, big_m);
//#if OUT_GATE
    y /= 1.0 + exp(-gates[params.gate_offset + h * HEAD_DIM + d]);
//#endif
    out[h * HEAD_DIM + d] = y;
  }
}
