// KV cache element access, f32 cache: rows of plain f32. The attention
// kernels declare k_cache as array<KvVec4> and v_cache as array<KvWord> and
// read them only through kv_vec4 / kv_element (and store through
// kv_pack4), so one kernel text serves
// both cache types (the f16 piece is kv/f16.wgsl).
alias KvWord = f32;
alias KvVec4 = vec4<f32>;
// Cache elements per KvWord: element e lives in word e / KV_PER_WORD.
const KV_PER_WORD: u32 = 1u;

fn kv_vec4(w: KvVec4) -> vec4<f32> {
  return w;
}

fn kv_element(w: KvWord, e: u32) -> f32 {
  return w;
}

// Four elements as the cache stores them (the decode step's own k and v).
fn kv_pack4(v: vec4<f32>) -> KvVec4 {
  return v;
}
