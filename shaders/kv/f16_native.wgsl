// KV cache element access, f16 cache read as native f16 (`shader-f16`, the
// f16 arithmetic path): the same bytes as kv/f16.wgsl (element 2i in the low
// half of word i), loaded as f16 values, so no unpacking per read. Same names
// as kv/f32.wgsl; attention still computes in f32.
enable f16;
alias KvWord = f16;
alias KvVec4 = vec4<f16>;
const KV_PER_WORD: u32 = 1u;

fn kv_vec4(w: KvVec4) -> vec4<f32> {
  return vec4<f32>(w);
}

fn kv_element(w: KvWord, e: u32) -> f32 {
  return f32(w);
}

//#include f16_bits

// Four elements as the cache stores them (the decode step's own k and v):
// ggml's f32 -> f16 rounding on the bits (a WGSL conversion may round
// otherwise), as the KV writers; the rounded values then convert exactly.
// (Not bitcast<vec2<f16>>: naga rejects it.)
fn kv_pack4(v: vec4<f32>) -> KvVec4 {
  let lo = unpack2x16float(f16_bits(v.x) | (f16_bits(v.y) << 16u));
  let hi = unpack2x16float(f16_bits(v.z) | (f16_bits(v.w) << 16u));
  return vec4<f16>(vec2<f16>(lo), vec2<f16>(hi));
}
