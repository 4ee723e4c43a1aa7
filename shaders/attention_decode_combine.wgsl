// attention_decode_combine: pass 3 of 3 of split decode attention (see
// attention_decode_scores.wgsl): merges the chunks of pass 2,
//   M = max_c m[h, c],  L = sum_c l[h, c] * exp(m[h, c] - M),
//   out[h, d] = sum_c acc[h, c, d] * exp(m[h, c] - M) / L.
//
// Layout: scratch as in attention_decode_chunks.wgsl; out is
// n_heads * HEAD_DIM f32.
// Dispatch: grid of ceil(n_heads * HEAD_DIM / WG) workgroups, one
// invocation per (head, dim).

//#include attention_split
@group(0) @binding(1) var<storage, read> scratch: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#include chunk_merge

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let g = grid_index(gid, nwg);
  if (g >= params.n_heads * HEAD_DIM) {
    return;
  }
  let d = g % HEAD_DIM;
  let h = g / HEAD_DIM;
  let stats = params.stats_offset + h * params.n_chunks * 2u;
  let partials = params.partials_offset + h * params.n_chunks * HEAD_DIM + d;
  out[g] = merge_chunks(stats, partials, params.n_chunks, chunks_max(stats, params.n_chunks));
}
