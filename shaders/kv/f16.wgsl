// KV cache element access, f16 cache: rows of packed f16 pairs, element 2i
// in the low half of word i (pack2x16float order). unpack2x16float is core
// WGSL, so this needs no `shader-f16`. Same names as kv/f32.wgsl.
alias KvWord = u32;
alias KvVec4 = vec2<u32>;
const KV_PER_WORD: u32 = 2u;

fn kv_vec4(w: KvVec4) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn kv_element(w: KvWord, e: u32) -> f32 {
  return unpack2x16float(w)[e & 1u];
}

//#include f16_bits

// Four elements as the cache stores them (the decode step's own k and v):
// ggml's f32 -> f16 rounding, as the KV writers.
fn kv_pack4(v: vec4<f32>) -> KvVec4 {
  return vec2<u32>(f16_bits(v.x) | (f16_bits(v.y) << 16u), f16_bits(v.z) | (f16_bits(v.w) << 16u));
}
