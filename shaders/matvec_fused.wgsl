// matvec_fused: the decode step's projections, up to three weight matrices
// ("segments") in one dispatch, with the work around them folded in:
//   NORM:     the input is rmsnorm(x) * norm_w, computed by every workgroup
//             from x (which it reads anyway), so no norm dispatch runs;
//   EPILOGUE: 0 store    out[off_s + r] = W_s[r] . in (+ bias_s[r]) (* softcap)
//             1 add      out[off_s + r] += W_s[r] . in (+ bias_s[r])   (the residual)
//             2 silu     out[r] = silu(W_0[r] . in) * (W_1[r] . in)    (gate, up)
//             3 gelu     out[r] = gelu(W_0[r] . in) * (W_1[r] . in)
// Segment s has rows_s rows of `cols` inputs in its own GGUF type (bound at
// weights_s<s> by the assembler's segments piece); rows are numbered through the
// segments in order (gated epilogues: rows of segment 0, each paired with
// the same row of segment 1).
//
// Layout: x is cols f32 (read as vec4); out f32; cols % 4 == 0.
// Dispatch: one workgroup of WG threads per WG / LANES rows, 2D grid when
// needed. A row's LANES threads take every LANES-th block of 32 elements
// (dot32; DOT4: of 4 elements, for rows that are not whole 32-blocks) and
// reduce in workgroup memory.

struct Params {
  cols: u32,
  rows0: u32,
  rows1: u32,
  rows2: u32,
  row_bytes0: u32,
  row_bytes1: u32,
  row_bytes2: u32,
  out0: u32,
  out1: u32,
  out2: u32,
  bias0: u32,
  bias1: u32,
  bias2: u32,
  has_bias: u32, // bit s: segment s has a bias
  eps: f32,
  softcap: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
//#if NORM
@group(0) @binding(3) var<storage, read> norm_w: array<vec4<f32>>;
//#endif
//#if HAS_BIAS
@group(0) @binding(20) var<storage, read> bias_s0: array<f32>;
@group(0) @binding(21) var<storage, read> bias_s1: array<f32>;
@group(0) @binding(22) var<storage, read> bias_s2: array<f32>;
//#endif

//#include segments

const ROWS_PER_WG: u32 = WG / LANES;

var<workgroup> partial: array<f32, WG * 2u>;
var<private> inv_rms: f32 = 1.0;

fn act4(k4: u32) -> vec4<f32> {
//#if NORM
  return (x[k4] * inv_rms) * norm_w[k4];
//#else
  return x[k4];
//#endif
}

fn bias_at(seg: u32, r: u32) -> f32 {
//#if HAS_BIAS
  switch seg {
    case 0u: { return bias_s0[params.bias0 + r]; }
    case 1u: { return bias_s1[params.bias1 + r]; }
    default: { return bias_s2[params.bias2 + r]; }
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

const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const GELU_COEF_A: f32 = 0.044715;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
//#if NORM
  // Every workgroup computes the norm itself: x is read by all of them anyway.
  var sq = 0.0;
  for (var k4 = lid; k4 < params.cols / 4u; k4 += WG) {
    let v = x[k4];
    sq += dot(v, v);
  }
  partial[lid] = sq;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
  }
  workgroupBarrier();
  inv_rms = inverseSqrt(partial[0] / f32(params.cols) + params.eps);
  workgroupBarrier();
//#endif

  let lane = lid % LANES;
  let row = (wid.y * nwg.x + wid.x) * ROWS_PER_WG + lid / LANES;
//#if DOT4
  let blocks = params.cols / 4u;
//#else
  let blocks = params.cols / 32u;
//#endif
//#if GATED
  let total = params.rows0;
//#else
  let total = params.rows0 + params.rows1 + params.rows2;
//#endif
  let has_row = row < total;

  // Which segment the row is in, and its row there.
  var seg = 0u;
  var r = row;
//#if !GATED
  if (r >= params.rows0) {
    r -= params.rows0;
    seg = 1u;
    if (r >= params.rows1) {
      r -= params.rows1;
      seg = 2u;
    }
  }
//#endif

  var acc0 = 0.0;
  var acc1 = 0.0;
  if (has_row) {
//#if GATED
    let base0 = r * params.row_bytes0;
    let base1 = r * params.row_bytes1;
    for (var b = lane; b < blocks; b += LANES) {
      acc0 += seg_dot(0u, base0, b);
      acc1 += seg_dot(1u, base1, b);
    }
//#else
    var row_bytes = params.row_bytes0;
    if (seg == 1u) {
      row_bytes = params.row_bytes1;
    } else if (seg == 2u) {
      row_bytes = params.row_bytes2;
    }
    let base = r * row_bytes;
    for (var b = lane; b < blocks; b += LANES) {
      acc0 += seg_dot(seg, base, b);
    }
//#endif
  }
  partial[lid] = acc0;
//#if GATED
  partial[WG + lid] = acc1;
//#endif
  for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lane < stride) {
      partial[lid] += partial[lid + stride];
//#if GATED
      partial[WG + lid] += partial[WG + lid + stride];
//#endif
    }
  }
  workgroupBarrier();
  if (lane != 0u || !has_row) {
    return;
  }

//#if GATED
  let g = partial[lid];
  let u = partial[WG + lid];
  var a = 0.0;
  if (EPILOGUE == 2u) {
    a = g / (1.0 + exp(-g));
  } else {
    let inner = clamp(SQRT_2_OVER_PI * g * (1.0 + GELU_COEF_A * g * g), -15.0, 15.0);
    a = 0.5 * g * (1.0 + tanh(inner));
  }
  out[params.out0 + r] = a * u;
//#else
  var v = partial[lid];
  if (((params.has_bias >> seg) & 1u) != 0u) {
    v += bias_at(seg, r);
  }
  var o = params.out0 + r;
  if (seg == 1u) {
    o = params.out1 + r;
  } else if (seg == 2u) {
    o = params.out2 + r;
  }
  if (EPILOGUE == 1u) {
    out[o] += v;
  } else {
    if (params.softcap > 0.0) {
      v = params.softcap * tanh(clamp(v / params.softcap, -15.0, 15.0));
    }
    out[o] = v;
  }
//#endif
}
