// kv_write_f16: writes count packed f16 pairs of f32 rows into an f16 KV
// cache from word dst_word_offset on:
//   cache[dst_word_offset + i] = f16(src[2i]) | f16(src[2i + 1]) << 16.
// The conversion is done on the bits, round to nearest even with overflow
// to infinity and gradual underflow, as ggml's fp32 -> fp16: WGSL leaves
// pack2x16float's rounding and its out-of-range results to the adapter.
//
// Layout: src is f32 (n rows of width, width even); cache is u32 words.
// Dispatch: one thread per word, WG per workgroup, 2D grid when needed.

//#include elementwise

struct Params {
  count: u32,
  dst_word_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> cache: array<u32>;

//#include f16_bits

fn element(i: u32) {
  let pair = src[i];
  cache[params.dst_word_offset + i] = f16_bits(pair.x) | (f16_bits(pair.y) << 16u);
}
