// delta_net: the gated delta rule of a qwen35 linear-attention layer over a
// batch of tokens, in order (a sequential scan), carrying the state across
// calls. Per value head h and token t, with kh = h % n_k_heads (Qwen 3.5's
// head broadcast, as ggml_gated_delta_net indexes it):
//   q, k = l2norm(q_kh), l2norm(k_kh)     (1 / max(|x|, eps))
//   g    = softplus(alpha[t, h] + dt[h]) * a[h]    (a = -exp(A_log))
//   b    = sigmoid(beta[t, h])
//   S    = S * exp(g)
//   d    = (v - S^T k) * b
//   S    = S + k d^T
//   o    = (S^T q) / sqrt(S_dim)
// S is S_DIM x S_DIM per head, row-major: state[h, i, j] = S[i][j], so the
// threads (one per column j) read consecutive words at each step i.
// A sequence starts from S = 0: the KV cache zeroes the state before its
// first pass. The buffer holds two halves of n_v_heads x S_DIM x S_DIM
// (state_halves): the first token reads the first position's half, every
// token writes the end's half (and the tokens after the first read it), so
// a one-token step leaves the state it started from as it was. The first
// position is start_pos, or (STEP, the decode pass) step.pos.
// Layout: qkv is n_tokens x row_stride f32 after the conv: q heads, then k
// heads (n_k_heads x S_DIM each), then v heads (n_v_heads x S_DIM);
// alpha and beta are n_tokens x n_v_heads; dt and a are n_v_heads; out is
// n_tokens x (n_v_heads * S_DIM).
// Dispatch: one workgroup of S_DIM threads per value head; thread j owns
// column j of S and walks the tokens in order.
// PACKED (the decode pass, one token): alpha and beta come from qkv too (at
// alpha_offset, beta_offset), and the output takes the layer's gated
// RMSNorm: out = rmsnorm(o) * norm_w * silu(z), the RMS over the head's
// S_DIM outputs, z at z_offset of qkv.

struct Params {
  n_tokens: u32,
  n_k_heads: u32,
  n_v_heads: u32,
  row_stride: u32,
  eps: f32,
  z_offset: u32,
  alpha_offset: u32,
  beta_offset: u32,
  start_pos: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> qkv: array<f32>;
//#if PACKED
@group(0) @binding(8) var<storage, read> norm_w: array<f32>;
//#else
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read> dt: array<f32>;
@group(0) @binding(5) var<storage, read> a: array<f32>;
@group(0) @binding(6) var<storage, read_write> state: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
//#if STEP
//#include step
@group(0) @binding(9) var<uniform> step: Step;
//#endif

var<workgroup> qs: array<f32, S_DIM>;
var<workgroup> ks: array<f32, S_DIM>;
var<workgroup> sq: array<f32, S_DIM>;
var<workgroup> sk: array<f32, S_DIM>;

//#include activations
//#include state_halves

fn first_pos() -> u32 {
//#if STEP
  return step.pos;
//#else
  return params.start_pos;
//#endif
}

fn softplus(x: f32) -> f32 {
  return select(log(1.0 + exp(x)), x, x > 20.0);
}

fn alpha_at(i: u32) -> f32 {
//#if PACKED
  return qkv[params.alpha_offset + i];
//#else
  return alpha[i];
//#endif
}

fn beta_at(i: u32) -> f32 {
//#if PACKED
  return qkv[params.beta_offset + i];
//#else
  return beta[i];
//#endif
}

@compute @workgroup_size(S_DIM)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) j: u32) {
  let h = wid.x;
  let kh = h % params.n_k_heads;
  let key_dim = params.n_k_heads * S_DIM;
  let half = params.n_v_heads * S_DIM * S_DIM;
  let p0 = first_pos();
  let head = h * S_DIM * S_DIM + j;
  let src = state_src(p0, half) + head;
  let dst = state_dst(p0, params.n_tokens, half) + head;
  let scale = 1.0 / sqrt(f32(S_DIM));
  for (var t = 0u; t < params.n_tokens; t++) {
    // The state this token starts from: the first position's half, then the one this call writes.
    let cur = select(dst, src, t == 0u);
    let row = t * params.row_stride;
    let qv = qkv[row + kh * S_DIM + j];
    let kv = qkv[row + key_dim + kh * S_DIM + j];
    let v = qkv[row + 2u * key_dim + h * S_DIM + j];
    sq[j] = qv * qv;
    sk[j] = kv * kv;
    for (var stride = S_DIM / 2u; stride > 0u; stride >>= 1u) {
      workgroupBarrier();
      if (j < stride) {
        sq[j] += sq[j + stride];
        sk[j] += sk[j + stride];
      }
    }
    workgroupBarrier();
    qs[j] = qv / max(sqrt(sq[0]), params.eps);
    ks[j] = kv / max(sqrt(sk[0]), params.eps);
    workgroupBarrier();
    let ab = t * params.n_v_heads + h;
    let decay = exp(softplus(alpha_at(ab) + dt[h]) * a[h]);
    let b = 1.0 / (1.0 + exp(-beta_at(ab)));
    // S * exp(g) is formed twice, the same way, rather than stored between the two loops.
    var dot_k = 0.0;
    for (var i = 0u; i < S_DIM; i++) {
      let s = state[cur + i * S_DIM] * decay;
      dot_k += s * ks[i];
    }
    let d = (v - dot_k) * b;
    var o = 0.0;
    for (var i = 0u; i < S_DIM; i++) {
      let s = state[cur + i * S_DIM] * decay + ks[i] * d;
      state[dst + i * S_DIM] = s;
      o += s * qs[i];
    }
    let y = o * scale;
//#if PACKED
    // Every thread read sq[0] before the barrier after qs and ks.
    sq[j] = y * y;
    for (var stride = S_DIM / 2u; stride > 0u; stride >>= 1u) {
      workgroupBarrier();
      if (j < stride) {
        sq[j] += sq[j + stride];
      }
    }
    workgroupBarrier();
    let z = qkv[params.z_offset + h * S_DIM + j];
    out[h * S_DIM + j] = y * inverseSqrt(sq[0] / f32(S_DIM) + params.eps) * norm_w[j] * silu(z);
//#else
    out[t * params.n_v_heads * S_DIM + h * S_DIM + j] = y;
//#endif
    workgroupBarrier();
  }
}
