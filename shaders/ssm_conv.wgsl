// ssm_conv: the causal depthwise convolution of a gated delta-net layer
// (qwen35), then SiLU, in place, carrying the conv state across calls:
//   y[t, c] = silu(sum_{i < K} w[c, i] * u[t + i - (K - 1), c])
// where u before the batch's first token comes from the state (the last
// K - 1 inputs of the previous call, oldest first; the KV cache zeroes it
// before a sequence's first pass), and the state then holds this batch's last K - 1 inputs. ggml_ssm_conv's
// order of terms (tap 0 first), as llama.cpp's qwen35 graph runs it.
// Layout: x is n_tokens x channels f32 (token-major); state is channels x
// (K - 1) f32; w is channels x K f32 (GGUF ssm_conv1d [K, channels]).
// Both halves of the state buffer (state_halves: read at the first
// position's, written at the end's), channels x (K - 1) floats each; the
// first position is start_pos, or (STEP, the decode pass) step.pos.
// Dispatch: one thread per channel (WG per workgroup); each thread walks
// the tokens in order, so a channel's window lives in registers.

struct Params {
  n_tokens: u32,
  channels: u32,
  kernel: u32,
  start_pos: u32,
}

const MAX_KERNEL: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
//#if STEP
//#include step
@group(0) @binding(4) var<uniform> step: Step;
//#endif

//#include activations
//#include state_halves

fn first_pos() -> u32 {
//#if STEP
  return step.pos;
//#else
  return params.start_pos;
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x * WG + lid;
  if (c >= params.channels) {
    return;
  }
  let k = params.kernel;
  let hist = k - 1u;
  let half = params.channels * hist;
  let p0 = first_pos();
  let src = state_src(p0, half) + c * hist;
  let dst = state_dst(p0, params.n_tokens, half) + c * hist;
  var win: array<f32, MAX_KERNEL>;
  for (var i = 0u; i < hist; i++) {
    win[i] = state[src + i];
  }
  for (var t = 0u; t < params.n_tokens; t++) {
    let u = x[t * params.channels + c];
    win[hist] = u;
    var sum = 0.0;
    for (var i = 0u; i < k; i++) {
      sum += win[i] * w[c * k + i];
    }
    for (var i = 0u; i < hist; i++) {
      win[i] = win[i + 1u];
    }
    x[t * params.channels + c] = silu(sum);
  }
  for (var i = 0u; i < hist; i++) {
    state[dst + i] = win[i];
  }
}
