// matvec_fused: the decode step's projections, up to four weight matrices
// ("segments") in one dispatch, with the work around them folded in:
//   NORM:     the input is rmsnorm(x) * norm_w. The row sums are taken
//             over x * norm_w and scaled by 1 / rms(x) at the end; the sum
//             of squares is gathered while the blocks of x are loaded for
//             the rows (every block of lanes covers the whole row), so no
//             norm dispatch runs and x is read once;
//   EPILOGUE: 0 store    out[off_s + r] = W_s[r] . in (+ bias_s[r]) (* softcap)
//             1 add      out[off_s + r] += W_s[r] . in (+ bias_s[r])   (the residual)
//             2 silu     out[r] = silu(W_0[r] . in) * (W_1[r] . in)    (gate, up)
//             3 gelu     out[r] = gelu(W_0[r] . in) * (W_1[r] . in)
//             4 gelu-in  out[off_s + r] = gelu(W_s[r] . in) * mul_in[mul_at + r]
//                        (GATE_IN: gemma4's per-layer input gate)
// HAS_BIAS: biases of at most three segments (bias_s0..2, a dispatch with
// biases takes no fourth).
// CONV (qwen35's delta-net layers): each row of segment 0 is a channel of
//             the causal depthwise conv: its stored value is
//             silu(sum_i conv_w[c, i] * [state[c, :], v][i]), CONV_K taps,
//             and its state takes v (ssm_conv.wgsl's arithmetic, in its
//             order); the thread that writes a row owns its channel. The
//             state's halves (state_halves) are picked by step.pos.
// PRE_ADD (gemma's post-norms): the input is first
//             x' = (x + y / sqrt(mean(y^2) + pre_eps) * pre_w) * pre_mul,
//             the residual add of the block before, folded in: each
//             workgroup (each thread, in the barrier-free family of CPU
//             emulations) adds up y's squares itself, and workgroup 0 also
//             stores x' to pre_out, the residual stream from here on (a
//             buffer other than x: the other workgroups still read x).
// Segment s has rows[s] rows of `cols` inputs in its own GGUF type (bound at
// weights_s<s> by the assembler's segments piece); rows are numbered through the
// segments in order (gated epilogues: rows of segment 0, each paired with
// the same row of segment 1). SPLIT (split > 0): segment 0's rows alternate,
// `split` at a time, between out_at[0] and split_out, packed at each (qwen35's
// joint projection, per head its query rows then its gate rows).
//
// Layout: x is cols f32 (read as vec4); out f32; cols % 4 == 0.
// Dispatch: WG threads per workgroup, (WG / LANES) x RT rows at a time; up
// to one workgroup per group of rows (2D grid when needed), fewer on CPU
// emulations, where each workgroup then takes several groups. Each block of
// LANES threads takes RT consecutive rows; its threads take every LANES-th
// block of 32 elements (dot32; DOT4: of 4 elements, for rows that are not
// whole 32-blocks) of all RT rows, loading the input block once for them;
// the lanes' sums are added up by a tree in workgroup memory (log2(LANES)
// barriers), then the block's first thread writes its rows. WG, LANES, RT
// and X_TILE come from the matvec tuning (src/gpu/matvec-tuning.ts).
// SHARED_X: the workgroup first loads the input (times norm_w) into
// workgroup memory, X_TILE elements at a time, each thread a strided share
// (consecutive threads, consecutive addresses), and the lanes take their
// blocks from there: a lane's 128 bytes of a block read straight from x
// make each load instruction touch a cache line per lane.
// INT8 (the tuning's int8Dot; rows of whole 32-blocks, every segment's type
// with an int8 dot piece): each block a lane loads is quantized to int8 once
// (shaders/dot/i8/act.wgsl) and the segments' int8 dot pieces take integer
// dot products with it (dot4I8Packed); the sum of squares stays f32.

struct Params {
  cols: u32,
  has_bias: u32, // bit s: segment s has a bias
  eps: f32,
  softcap: f32,
  rows: vec4<u32>,
  row_bytes: vec4<u32>,
  out_at: vec4<u32>,
  bias_from: vec4<u32>,
  split: u32,
  split_out: u32,
  mul_at: u32,
  pre_eps: f32,
  pre_mul: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#if NORM
@group(0) @binding(3) var<storage, read> norm_w: array<vec4<f32>>;
//#endif
//#if GATE_IN
@group(0) @binding(4) var<storage, read> mul_in: array<f32>;
//#endif
//#if CONV
@group(0) @binding(8) var<storage, read> conv_w: array<f32>;
@group(0) @binding(9) var<storage, read_write> conv_state: array<f32>;
//#include step
@group(0) @binding(19) var<uniform> step: Step;
//#include state_halves

// Channel c's conv of this step's input v, its state moved on by one.
fn conv_step(c: u32, v: f32) -> f32 {
  let hist = CONV_K - 1u;
  let half = params.rows.x * hist;
  let src = state_src(step.pos, half) + c * hist;
  let dst = state_dst(step.pos, 1u, half) + c * hist;
  var win: array<f32, CONV_K>;
  for (var i = 0u; i < hist; i++) {
    win[i] = conv_state[src + i];
  }
  win[hist] = v;
  var sum = 0.0;
  for (var i = 0u; i < CONV_K; i++) {
    sum += win[i] * conv_w[c * CONV_K + i];
  }
  for (var i = 0u; i < hist; i++) {
    conv_state[dst + i] = win[i + 1u];
  }
  return silu(sum);
}
//#endif
//#if PRE_ADD
@group(0) @binding(5) var<storage, read> pre_y: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> pre_w: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> pre_out: array<vec4<f32>>;
// 1 / rms(y), from the prologue of main.
var<private> pre_inv: f32;
//#endif
//#if HAS_BIAS
@group(0) @binding(20) var<storage, read> bias_s0: array<f32>;
@group(0) @binding(21) var<storage, read> bias_s1: array<f32>;
@group(0) @binding(22) var<storage, read> bias_s2: array<f32>;
//#endif

//#include segments

// RT consecutive rows per block of LANES threads: each thread loads a block
// of the input once (times norm_w, into xs) and uses it for all RT rows, so the
// input is read once per RT rows instead of once per row (for a Q4_K row
// the input is 7 times the row's weight bytes).
const ROWS_PER_WG: u32 = (WG / LANES) * RT;

// Per thread: 2 x RT row sums (the second for gated epilogues), then the
// sum of squares of x (NORM).
const SLOTS: u32 = 2u * RT + 1u;
var<workgroup> partial: array<f32, WG * SLOTS>;
// The input block the dot pieces read through act4: elements 32b .. 32b+31
// (DOT4: the 4 elements of block b, at xs[b & 7]), times norm_w (NORM).
var<private> xs: array<vec4<f32>, 8>;
// This thread's share of sum(x^2) (NORM).
var<private> sum_sq: f32 = 0.0;

//#if SHARED_X
// The tile of x (times norm_w): vec4 i of block b at b * 8 + ((i + b) & 7),
// so the lanes of a load (consecutive blocks, the same i) hit different
// banks (DOT4: vec4 b at b).
var<workgroup> x_tile: array<vec4<f32>, X_TILE / 4u>;

fn tile_slot(v: u32) -> u32 {
//#if DOT4
  return v;
//#else
  let b = v / 8u;
  return b * 8u + (((v & 7u) + b) & 7u);
//#endif
}
//#endif

//#if INT8
//#include act_i8
//#endif

// Input element group k4 (PRE_ADD: with the block before's residual add).
fn x4(k4: u32) -> vec4<f32> {
//#if PRE_ADD
  return (x[k4] + pre_y[k4] * pre_inv * pre_w[k4]) * params.pre_mul;
//#else
  return x[k4];
//#endif
}

fn in4(k4: u32) -> vec4<f32> {
  let v = x4(k4);
//#if NORM
  sum_sq += dot(v, v);
  return v * norm_w[k4];
//#else
  return v;
//#endif
}

fn load_block(b: u32) {
//#if DOT4
  xs[b & 7u] = in4(b);
//#else
  for (var i = 0u; i < 8u; i++) {
    xs[i] = in4(b * 8u + i);
  }
//#if INT8
  quantize_block();
//#endif
//#endif
}

//#if SHARED_X
// Block b of the tile (its index in the tile: tb) into xs.
fn load_block_tile(b: u32, tb: u32) {
//#if DOT4
  xs[b & 7u] = x_tile[tb];
//#else
  for (var i = 0u; i < 8u; i++) {
    xs[i] = x_tile[tile_slot(tb * 8u + i)];
  }
//#if INT8
  quantize_block();
//#endif
//#endif
}
//#endif

fn act4(k4: u32) -> vec4<f32> {
  return xs[k4 & 7u];
}

fn bias_at(seg: u32, r: u32) -> f32 {
//#if HAS_BIAS
  switch seg {
    case 0u: { return bias_s0[params.bias_from[0] + r]; }
    case 1u: { return bias_s1[params.bias_from[1] + r]; }
    default: { return bias_s2[params.bias_from[2] + r]; }
  }
//#else
  return 0.0;
//#endif
}

fn seg_dot(seg: u32, row_byte_base: u32, b: u32) -> f32 {
//#if DOT4
  return seg_dot4(seg, row_byte_base, b);
//#else
  return seg_dot32(seg, row_byte_base, b);
//#endif
}

//#include activations

// Segment of a row (rows are numbered through the segments) and its row there.
fn locate(row: u32) -> vec2<u32> {
  var seg = 0u;
  var r = row;
//#if !GATED
  for (; seg < 3u && r >= params.rows[seg]; seg++) {
    r -= params.rows[seg];
  }
//#endif
  return vec2<u32>(seg, r);
}

// Where row r of segment seg is stored (SPLIT: segment 0's alternating blocks).
fn out_index(seg: u32, r: u32) -> u32 {
  if (seg == 0u && params.split > 0u) {
    let blk = r / params.split;
    let packed = (blk >> 1u) * params.split + r % params.split;
    return select(params.out_at[0], params.split_out, (blk & 1u) == 1u) + packed;
  }
  return params.out_at[seg] + r;
}

// The epilogue of one row: its dot product(s) sum0 (and sum1, gated) over
// the input (times norm_w), and 1 / rms(x) (1 without NORM).
fn write_row(row: u32, dot0: f32, dot1: f32, inv_rms: f32) {
  let at = locate(row);
  let seg = at.x;
  let r = at.y;
  let sum0 = dot0 * inv_rms;
//#if GATED
  let sum1 = dot1 * inv_rms;
  let a = select(gelu(sum0), silu(sum0), EPILOGUE == 2u);
  out[params.out_at[0] + r] = a * sum1;
//#else
  var v = sum0;
  if (((params.has_bias >> seg) & 1u) != 0u) {
    v += bias_at(seg, r);
  }
  let o = out_index(seg, r);
  if (EPILOGUE == 1u) {
    out[o] += v;
  } else if (EPILOGUE == 4u) {
//#if GATE_IN
    out[o] = gelu(v) * mul_in[params.mul_at + r];
//#endif
  } else {
    if (params.softcap > 0.0) {
      v = soft_cap(v, params.softcap);
    }
//#if CONV
    if (seg == 0u) {
      v = conv_step(r, v);
    }
//#endif
    out[o] = v;
  }
//#endif
}

// Block b (in xs) of the block's RT rows, into their sums.
fn dot_rows(b: u32, row0: u32, total: u32, acc0: ptr<function, array<f32, RT>>, acc1: ptr<function, array<f32, RT>>, seg: array<u32, RT>, base0: array<u32, RT>, base1: array<u32, RT>) {
  for (var i = 0u; i < RT; i++) {
    if (row0 + i < total) {
//#if GATED
      (*acc0)[i] += seg_dot(0u, base0[i], b);
      (*acc1)[i] += seg_dot(1u, base1[i], b);
//#else
      (*acc0)[i] += seg_dot(seg[i], base0[i], b);
//#endif
    }
  }
}

// 1 / rms(x) from the sum of squares over the whole row (1 without NORM).
fn inv_rms_of(sq: f32) -> f32 {
//#if NORM
  return inverseSqrt(sq / f32(params.cols) + params.eps);
//#else
  return 1.0;
//#endif
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let lane = lid % LANES;
//#if DOT4
  let blocks = params.cols / 4u;
//#else
  let blocks = params.cols / 32u;
//#endif
//#if GATED
  let total = params.rows[0];
//#else
  let total = params.rows[0] + params.rows[1] + params.rows[2] + params.rows[3];
//#endif
//#if PRE_ADD
  if (LANES == 1u && !SHARED_X) {
    // A thread per row block (CPU emulations, where a barrier costs a context switch per invocation): each adds up y itself.
    var sq_y = 0.0;
    for (var k4 = 0u; k4 < params.cols / 4u; k4++) {
      let v = pre_y[k4];
      sq_y += dot(v, v);
    }
    pre_inv = inverseSqrt(sq_y / f32(params.cols) + params.pre_eps);
  } else {
    // y's sum of squares by a tree over the workgroup (partial is free until the rows' sums).
    var sq_y = 0.0;
    for (var k4 = lid; k4 < params.cols / 4u; k4 += WG) {
      let v = pre_y[k4];
      sq_y += dot(v, v);
    }
    partial[lid] = sq_y;
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (lid < s) {
        partial[lid] += partial[lid + s];
      }
    }
    workgroupBarrier();
    pre_inv = inverseSqrt(partial[0] / f32(params.cols) + params.pre_eps);
    workgroupBarrier();
  }
  if (wid.x == 0u && wid.y == 0u) {
    for (var k4 = lid; k4 < params.cols / 4u; k4 += WG) {
      pre_out[k4] = x4(k4);
    }
  }
//#endif
  // Groups of ROWS_PER_WG rows; a workgroup takes every (number of
  // workgroups)-th group, so a dispatch may have fewer workgroups than groups.
  let groups = (total + ROWS_PER_WG - 1u) / ROWS_PER_WG;
  for (var group = wid.y * nwg.x + wid.x; group < groups; group += nwg.x * nwg.y) {
    let row0 = group * ROWS_PER_WG + (lid / LANES) * RT;
    // Zeroed by an initializer each time round: a workgroup may take several
    // groups, and a declaration alone is not re-zeroed per iteration by every
    // compiler (Tint and naga both kept the previous group's sums).
    var acc0 = array<f32, RT>();
    var acc1 = array<f32, RT>();
    sum_sq = 0.0;
    var seg: array<u32, RT>;
    var base0: array<u32, RT>;
    var base1: array<u32, RT>;
    for (var i = 0u; i < RT; i++) {
      if (row0 + i < total) {
        let at = locate(row0 + i);
        seg[i] = at.x;
//#if GATED
        base0[i] = at.y * params.row_bytes[0];
        base1[i] = at.y * params.row_bytes[1];
//#else
        base0[i] = at.y * params.row_bytes[at.x];
//#endif
      }
    }
//#if SHARED_X
//#if DOT4
    let tile_blocks = X_TILE / 4u;
//#else
    let tile_blocks = X_TILE / 32u;
//#endif
    for (var first = 0u; first < blocks; first += tile_blocks) {
      let n = min(tile_blocks, blocks - first);
      let n4 = n * (X_TILE / 4u) / tile_blocks;
      let first4 = first * (X_TILE / 4u) / tile_blocks;
      workgroupBarrier();
      for (var v = lid; v < n4; v += WG) {
        x_tile[tile_slot(v)] = in4(first4 + v);
      }
      workgroupBarrier();
      if (row0 < total) {
        for (var tb = lane; tb < n; tb += LANES) {
          let b = first + tb;
          load_block_tile(b, tb);
          dot_rows(b, row0, total, &acc0, &acc1, seg, base0, base1);
        }
      }
    }
//#else
    if (row0 < total) {
      for (var b = lane; b < blocks; b += LANES) {
        load_block(b);
        dot_rows(b, row0, total, &acc0, &acc1, seg, base0, base1);
      }
    }
//#endif
    if (LANES == 1u && !SHARED_X) {
      // One thread per row block: nothing to add up, no barrier.
      let inv_rms = inv_rms_of(sum_sq);
      for (var i = 0u; i < RT; i++) {
        if (row0 + i < total) {
          write_row(row0 + i, acc0[i], acc1[i], inv_rms);
        }
      }
      continue;
    }
    for (var i = 0u; i < RT; i++) {
      partial[(2u * i) * WG + lid] = acc0[i];
      partial[(2u * i + 1u) * WG + lid] = acc1[i];
    }
    partial[(2u * RT) * WG + lid] = sum_sq;
    // A tree over each block's lanes (blocks start at multiples of LANES).
    for (var s = LANES / 2u; s > 0u; s >>= 1u) {
      workgroupBarrier();
      if (lane < s) {
        for (var i = 0u; i < RT; i++) {
          partial[(2u * i) * WG + lid] += partial[(2u * i) * WG + lid + s];
//#if GATED
          partial[(2u * i + 1u) * WG + lid] += partial[(2u * i + 1u) * WG + lid + s];
//#endif
        }
//#if NORM
        partial[(2u * RT) * WG + lid] += partial[(2u * RT) * WG + lid + s];
//#endif
      }
    }
    workgroupBarrier();
    if (lane == 0u) {
//#if SHARED_X
      // Every thread of the workgroup loaded a share of x: the blocks' totals add up to the row's.
      var sq = 0.0;
      for (var blk = 0u; blk < WG; blk += LANES) {
        sq += partial[(2u * RT) * WG + blk];
      }
      let inv_rms = inv_rms_of(sq);
//#else
      let inv_rms = inv_rms_of(partial[(2u * RT) * WG + lid]);
//#endif
      for (var i = 0u; i < RT; i++) {
        if (row0 + i < total) {
          write_row(row0 + i, partial[(2u * i) * WG + lid], partial[(2u * i + 1u) * WG + lid], inv_rms);
        }
      }
    }
    workgroupBarrier();
  }
}
