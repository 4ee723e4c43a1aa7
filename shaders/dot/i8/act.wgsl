// The int8 input block of matvec_fused (int8Dot; `//#include act_i8`): once
// a lane has its block of 32 inputs in `xs` (times norm_w), it quantizes
// them with one f32 scale, d = amax / 127, q = round(v * (127 / amax))
// (round: half to even; an all-zero block gets d = 0 and q = 0), packs
// them four to a word (element 4i + c in byte c of word i) and keeps them
// for its RT rows. The int8 dot pieces (shaders/dot/i8/) read them through
// actq(i), act_d() and act_qsum().
requires packed_4x8_integer_dot_product;

var<private> xq: array<u32, 8>;
var<private> xq_d: f32;
// Sums of q over elements 0..15 and 16..31 (the offsets and mins of the weights).
var<private> xq_sum: vec2<i32>;

fn quantize_block() {
  var m = abs(xs[0]);
  for (var i = 1u; i < 8u; i++) {
    m = max(m, abs(xs[i]));
  }
  let amax = max(max(m.x, m.y), max(m.z, m.w));
  xq_d = amax / 127.0;
  let id = select(0.0, 127.0 / amax, amax > 0.0);
  // The halves' sums from the rounded values while they are f32 (exact: small integers).
  var sum0 = vec4<f32>(0.0);
  var sum1 = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    let q0 = round(xs[i] * id);
    let q1 = round(xs[i + 4u] * id);
    xq[i] = pack4xI8(vec4<i32>(q0));
    xq[i + 4u] = pack4xI8(vec4<i32>(q1));
    sum0 += q0;
    sum1 += q1;
  }
  let ones = vec4<f32>(1.0);
  xq_sum = vec2<i32>(i32(dot(sum0, ones)), i32(dot(sum1, ones)));
}

// Elements 4i .. 4i+3 of the block as packed int8.
fn actq(i: u32) -> u32 {
  return xq[i];
}

fn act_d() -> f32 {
  return xq_d;
}

fn act_qsum() -> vec2<i32> {
  return xq_sum;
}
