// Shared by the three passes of split decode attention (attention_decode_
// scores, _chunks, _combine): one Params for all of them (WebGpuOps.
// splitAttention writes the same fields to each), scratch offsets in f32
// elements, and the grid index.
//#include grid

struct Params {
  n_heads: u32,
  n_kv_heads: u32,
  first_key: u32,
  n_keys: u32,
  n_chunks: u32,
  scale: f32,
  softcap: f32,
  partials_offset: u32,
  stats_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
