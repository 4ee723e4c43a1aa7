// short_conv: lfm2's gated short convolution over the tokens of a batch,
// after in_proj has produced its three thirds b, c and x per token:
//   bx[t] = b[t] * x[t]
//   conv[t] = sum_k w[k] * pad[t + k], k = 0..L-1, pad = [state (L-1 inputs), bx[0..n-1]]
//   y[t] = c[t] * conv[t]
// the way ggml_ssm_conv sums it (oldest input first, f32). The state, per
// channel the last L-1 values of bx (oldest first), is read at the start and
// written back at the end, so consecutive batches (prefill chunks, decode
// steps) continue one sequence.
//
// Layout: b, c, x: n_tokens x channels f32; y is written over b (each
// thread reads b[t, ch] before it writes it). PACKED (the decode pass): one
// buffer of n_tokens x [b | c | x], in_proj's own output rows, y over the b
// thirds. w: channels x L f32 (llama.cpp's shortconv.conv, the kernel of
// channel ch at ch * L). state: two halves of channels x (L - 1) f32
// (state_halves: read at the first position's, written at the end's); the
// first position is start_pos, or (STEP, the decode pass) step.pos.
// Dispatch: one thread per channel (a thread walks the tokens in order:
// the state makes the steps sequential), WG per workgroup, 2D grid when needed.

struct Params {
  n_tokens: u32,
  channels: u32,
  start_pos: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> b_y: array<f32>;
//#if !PACKED
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
//#endif
@group(0) @binding(4) var<storage, read> w: array<f32>;
@group(0) @binding(5) var<storage, read_write> state: array<f32>;
//#if STEP
//#include step
@group(0) @binding(6) var<uniform> step: Step;
//#endif

//#include grid
//#include state_halves

fn first_pos() -> u32 {
//#if STEP
  return step.pos;
//#else
  return params.start_pos;
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let ch = grid_index(gid, nwg);
  if (ch >= params.channels) {
    return;
  }
  let half = params.channels * HIST;
  let p0 = first_pos();
  let src = state_src(p0, half) + ch * HIST;
  let dst = state_dst(p0, params.n_tokens, half) + ch * HIST;
  var hist: array<f32, HIST>;
  for (var k = 0u; k < HIST; k++) {
    hist[k] = state[src + k];
  }
  let wb = ch * (HIST + 1u);
  for (var t = 0u; t < params.n_tokens; t++) {
//#if PACKED
    let i = 3u * t * params.channels + ch;
    let bx = b_y[i] * b_y[i + 2u * params.channels];
    let gate = b_y[i + params.channels];
//#else
    let i = t * params.channels + ch;
    let bx = b_y[i] * x[i];
    let gate = c[i];
//#endif
    var acc = 0.0;
    for (var k = 0u; k < HIST; k++) {
      acc += hist[k] * w[wb + k];
    }
    acc += bx * w[wb + HIST];
    for (var k = 0u; k + 1u < HIST; k++) {
      hist[k] = hist[k + 1u];
    }
    hist[HIST - 1u] = bx;
    b_y[i] = gate * acc;
  }
  for (var k = 0u; k < HIST; k++) {
    state[dst + k] = hist[k];
  }
}
