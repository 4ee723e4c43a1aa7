// matmul_tiled: out[t, row_offset + r] = sum_c W[r, c] * x[t, c] (+ bias[row_offset + r])
// for tokens t < n_tokens and rows r < rows of one weight part. The prefill
// path (n > 1); same bindings and parameters as matmul.wgsl (the fallback):
// both take them from matrix.wgsl.
//
// Layout: W as in matvec (GGUF blocks, row r at byte r * row_bytes); x is
// n_tokens x cols f32 token-major (read as vec4); out is n_tokens x
// out_stride f32 (out_stride = rows of the whole matrix).
//
// Tiling (TM, TN, TK4 and WG are injected constants, WG = TM/4 * TN/4): a
// workgroup computes a TM x TN block (TM rows x TN tokens). Per step of
// 4*TK4 columns it decodes the TM x TK4 weight tile once into workgroup
// memory and loads the TN x TK4 x tile next to it, both as vec4 of 4
// consecutive columns; then each thread computes a 4 x 4 register block
// (rows ty + i*TM/4, tokens tx + j*TN/4) from 4 + 4 vec4 loads per column
// group: 16 dot products per 8 workgroup loads, two barriers per step.
// Why vec4 in workgroup memory: the old kernel did one scalar load per FMA,
// which is what both SwiftShader and real GPUs are slowest at here.
// Arithmetic (the `arith` piece, shaders/arith/*.wgsl): tiles of vec4<Tile>,
// f32 or f16; each 4-column dot is computed in Tile and summed into f32
// accumulators, so long rows keep f32 sums on the f16 path too.
// Dispatch: (ceil(rows / TM), ceil(n_tokens / TN)) workgroups.

//#include matrix

//#include decode
//#include arith

const TM4: u32 = TM / 4u;
const TN4: u32 = TN / 4u;
const W_SLOTS: u32 = TM * TK4;
const X_SLOTS: u32 = TN * TK4;

// Column-group major ([k4][row], [k4][token]): in the inner loop, threads
// with neighbouring ty (tx) read neighbouring vec4s.
var<workgroup> w_tile: array<vec4<Tile>, W_SLOTS>;
var<workgroup> x_tile: array<vec4<Tile>, X_SLOTS>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row0 = wid.x * TM;
  let tok0 = wid.y * TN;
  let k4_count = params.cols / 4u;
  let ty = lid / TN4;
  let tx = lid % TN4;

  // acc_i holds row ty + i*TM4 for the 4 tokens tx + j*TN4 (component j).
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k4_base = 0u; k4_base < k4_count; k4_base += TK4) {
    // Loads: slot s is (line s / TK4, column group s % TK4), so neighbouring
    // threads read neighbouring bytes of one row (or token).
    for (var s = lid; s < W_SLOTS; s += WG) {
      let line = s / TK4;
      let kk = s % TK4;
      let r = row0 + line;
      let k4 = k4_base + kk;
      var wv = vec4<f32>(0.0);
      if (r < params.rows && k4 < k4_count) {
        wv = decode4(r * params.row_bytes, k4);
      }
      w_tile[kk * TM + line] = to_tile(wv);
    }
    for (var s = lid; s < X_SLOTS; s += WG) {
      let line = s / TK4;
      let kk = s % TK4;
      let t = tok0 + line;
      let k4 = k4_base + kk;
      var xv = vec4<f32>(0.0);
      if (t < params.n_tokens && k4 < k4_count) {
        xv = x[t * k4_count + k4];
      }
      x_tile[kk * TN + line] = to_tile(xv);
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TK4; kk++) {
      let wb = kk * TM + ty;
      let w0 = w_tile[wb];
      let w1 = w_tile[wb + TM4];
      let w2 = w_tile[wb + 2u * TM4];
      let w3 = w_tile[wb + 3u * TM4];
      let xb = kk * TN + tx;
      let x0 = x_tile[xb];
      let x1 = x_tile[xb + TN4];
      let x2 = x_tile[xb + 2u * TN4];
      let x3 = x_tile[xb + 3u * TN4];
      acc0 += vec4<f32>(vec4<Tile>(dot(w0, x0), dot(w0, x1), dot(w0, x2), dot(w0, x3)));
      acc1 += vec4<f32>(vec4<Tile>(dot(w1, x0), dot(w1, x1), dot(w1, x2), dot(w1, x3)));
      acc2 += vec4<f32>(vec4<Tile>(dot(w2, x0), dot(w2, x1), dot(w2, x2), dot(w2, x3)));
      acc3 += vec4<f32>(vec4<Tile>(dot(w3, x0), dot(w3, x1), dot(w3, x2), dot(w3, x3)));
    }
    workgroupBarrier();
  }

  store_row(row0 + ty, tok0 + tx, acc0);
  store_row(row0 + ty + TM4, tok0 + tx, acc1);
  store_row(row0 + ty + 2u * TM4, tok0 + tx, acc2);
  store_row(row0 + ty + 3u * TM4, tok0 + tx, acc3);
}

// Writes row r for tokens t0 + j*TN4 (component j of v), skipping the
// ragged edges of the matrix and the batch.
fn store_row(r: u32, t0: u32, v: vec4<f32>) {
  if (r >= params.rows) {
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    let t = t0 + j * TN4;
    if (t < params.n_tokens) {
      store_out(t, r, v[j]);
    }
  }
}
