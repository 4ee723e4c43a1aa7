// kv_write_f16: writes n_words packed f16 pairs of f32 rows into an f16 KV
// cache from word dst_word_offset on:
//   cache[dst_word_offset + i] = f16(src[2i]) | f16(src[2i + 1]) << 16.
// The conversion is done on the bits, round to nearest even with overflow
// to infinity and gradual underflow, as ggml's fp32 -> fp16: WGSL leaves
// pack2x16float's rounding and its out-of-range results to the adapter.
//
// Layout: src is f32 (n rows of width, width even); cache is u32 words.
// Dispatch: one thread per word, WG per workgroup, 2D grid when needed.

struct Params {
  n_words: u32,
  dst_word_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

//#include f16_bits

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * WG + gid.x;
  if (i >= params.n_words) {
    return;
  }
  let pair = src[i];
  cache[params.dst_word_offset + i] = f16_bits(pair.x) | (f16_bits(pair.y) << 16u);
}
