// The rotary embedding's parameters, shared by rope.wgsl, rope_kv.wgsl and
// attention_decode_split.wgsl (ROPE), in the order of ropeStoreFields
// (src/gpu/uniforms.ts): the rotated dims, ggml's angle terms
// (ropeAngleFields) and the per-head q/k norm's epsilon (the decode step's;
// rope.wgsl has no norm). A struct member of a uniform starts on 16 bytes.
struct RopeStore {
  n_rot: u32,
  theta_scale: f32,
  freq_scale: f32,
  neox: u32,
  has_freq_factors: u32,
  mscale: f32,
  ext_factor: f32,
  corr_low: f32,
  corr_high: f32,
  temp_scale: f32,
  temp_length: u32,
  eps: f32,
}
