// kv_read_f16: unpacks n_words packed f16 pairs of an f16 KV cache, from
// word src_word_offset on, into f32 rows (the K-shift re-ropes them in f32
// and packs them back with kv_write_f16):
//   out[2i], out[2i + 1] = unpack2x16float(cache[src_word_offset + i]).
//
// Layout: cache is u32 words; out is f32.
// Dispatch: one thread per word, WG per workgroup, 2D grid when needed.

struct Params {
  n_words: u32,
  src_word_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cache: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= params.n_words) {
    return;
  }
  out[i] = unpack2x16float(cache[params.src_word_offset + i]);
}
