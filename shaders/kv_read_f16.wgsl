// kv_read_f16: unpacks count packed f16 pairs of an f16 KV cache, from
// word src_word_offset on, into f32 rows (the K-shift re-ropes them in f32
// and packs them back with kv_write_f16):
//   out[2i], out[2i + 1] = unpack2x16float(cache[src_word_offset + i]).
//
// Layout: cache is u32 words; out is f32.
// Dispatch: one thread per word, WG per workgroup, 2D grid when needed.

//#include elementwise

struct Params {
  count: u32,
  src_word_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> cache: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec2<f32>>;

fn element(i: u32) {
  out[i] = unpack2x16float(cache[params.src_word_offset + i]);
}
