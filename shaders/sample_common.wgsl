// GPU sampling's shared declarations (src/gpu/gpu-sampler.ts puts this in
// front of every sample_*.wgsl kernel, after the constants of
// src/engine/sampling-math.ts). Each function mirrors its twin in
// src/engine/sampler.ts or sampling-math.ts operation for operation, so the
// CPU and GPU samplers compute the same f32 values (docs/gpu-kernels.md).

//#include step

// Per request (GpuSampler.begin).
struct SampleParams {
  seed: u32,
  top_k: u32,
  top_p_fixed: u32,
  hist_len: u32,
  // 0: no penalties; WINDOW_ALL: the whole history; else the ring's length.
  window: u32,
  penalize: u32,
  // 1: the grammar's token bitmask follows the window counts (counts[MASK_BASE + i / 32]).
  masked: u32,
  _pad1: u32,
  inv_temp: f32,
  repeat: f32,
  inv_repeat: f32,
  freq: f32,
  presence: f32,
  log_min_p: f32,
  _pad2: f32,
  _pad3: f32,
}

// Per token, written and read only by the kernels. A cut is the last token
// of a rank prefix (logit descending, id ascending), as (key, id).
struct SampleState {
  max_key: u32,
  max_id: u32,
  sel_key: u32,
  sel_id: u32,
  rem_lo: u32,
  rem_hi: u32,
  cutk_key: u32,
  cutk_id: u32,
  cutp_key: u32,
  cutp_id: u32,
  _pad0: u32,
  _pad1: u32,
}

const WINDOW_ALL: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> params: SampleParams;
@group(0) @binding(1) var<uniform> step: Step;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> counts: array<u32>;
@group(0) @binding(4) var<storage, read_write> state: SampleState;

fn fmix32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

fn stream_hash(seed: u32, sample_index: u32, id: u32) -> u32 {
  let h = fmix32(fmix32(seed + 0x9e3779b9u) ^ sample_index);
  return fmix32(h + id);
}

fn exp32(x: f32) -> f32 {
  if (!(x >= -23.0)) { return 0.0; }
  let t = x * SAMPLE_LOG2E;
  let n = floor(t);
  let r = t - n;
  return poly_exp2(r) * bitcast<f32>(u32(i32(n) + 127i) << 23u);
}

fn log32(x: f32) -> f32 {
  let bits = bitcast<u32>(x);
  var e = i32(bits >> 23u) - 127i;
  var m = bitcast<f32>((bits & 0x7fffffu) | 0x3f800000u);
  if (m > SAMPLE_SQRT2) {
    m = m * 0.5;
    e += 1i;
  }
  return f32(e) * SAMPLE_LN2 + poly_log1p(m - 1.0);
}

fn gumbel(seed: u32, sample_index: u32, id: u32) -> f32 {
  let u = (f32(stream_hash(seed, sample_index, id) >> 9u) + 0.5) * (1.0 / 8388608.0);
  return -log32(-log32(u));
}

// -inf, made at run time (a constant expression may not be infinite).
fn neg_inf() -> f32 {
  var bits = 0xff800000u;
  return bitcast<f32>(bits);
}

// The logit after sanitising (NaN -> -inf, +inf -> the largest f32), the
// grammar's mask (-inf, as the CPU route writes into the logits) and penalties.
fn value_of(i: u32) -> f32 {
  let raw = bitcast<u32>(logits[i]);
  var l = logits[i];
  if ((raw & 0x7fffffffu) > 0x7f800000u) { l = neg_inf(); }
  else if (raw == 0x7f800000u) { l = SAMPLE_F32_MAX; }
  if (params.masked != 0u && ((counts[MASK_BASE + (i >> 5u)] >> (i & 31u)) & 1u) == 0u) { l = neg_inf(); }
  if (params.penalize != 0u) {
    let c = counts[i];
    if (c > 0u) {
      l = select(l * params.inv_repeat, l * params.repeat, l <= 0.0);
      l = l - f32(c) * params.freq - params.presence;
    }
  }
  return l;
}

// An order-preserving u32 of an f32 (-0 taken as +0): larger key, larger value.
fn key_of(v: f32) -> u32 {
  var bits = bitcast<u32>(v);
  if (bits == 0x80000000u) { bits = 0u; }
  return select(bits | 0x80000000u, ~bits, (bits & 0x80000000u) != 0u);
}

fn value_of_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// (key, id) ranks at or before the cut (cut_key, cut_id).
fn in_prefix(k: u32, id: u32, cut_key: u32, cut_id: u32) -> bool {
  return k > cut_key || (k == cut_key && id <= cut_id);
}

// 64-bit integers as (low word, high word).
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

fn sub64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  return vec2<u32>(a.x - b.x, a.y - b.y - select(0u, 1u, a.x < b.x));
}

fn ge64(a: vec2<u32>, b: vec2<u32>) -> bool {
  return a.y > b.y || (a.y == b.y && a.x >= b.x);
}

fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

// Top-p's mass of a token d = logit - max below the best: floor(e^d * 2^32).
fn top_p_weight(d: f32) -> vec2<u32> {
  let e = exp32(d);
  if (e >= 1.0) { return vec2<u32>(0u, 1u); }
  return vec2<u32>(u32(e * 4294967296.0), 0u);
}

// max(1, ceil(p * total)) with p = p_fixed / 2^24 (sampling-math.ts topPTarget).
fn top_p_target(p_fixed: u32, total: vec2<u32>) -> vec2<u32> {
  let high = (total.y << 8u) | (total.x >> 24u);
  let low = total.x & 0xffffffu;
  let a = mul_wide(p_fixed, high);
  let b = mul_wide(p_fixed, low);
  let b_ceil = vec2<u32>(((b.y << 8u) | (b.x >> 24u)) + select(0u, 1u, (b.x & 0xffffffu) != 0u), 0u);
  let t = add64(a, b_ceil);
  return select(t, vec2<u32>(1u, 0u), t.x == 0u && t.y == 0u);
}
