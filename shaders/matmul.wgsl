// matmul: out[t, row_offset + r] = sum_c W[r, c] * x[t, c] (+ bias[row_offset + r])
// for tokens t < n_tokens and rows r < rows of one weight part. The prefill
// path (n > 1).
//
// Layout: W as in matvec (GGUF blocks, row r at byte r * row_bytes); x is
// n_tokens x cols f32 token-major (read as vec4); out is n_tokens x
// out_stride f32 (out_stride = rows of the whole matrix).
// Tiling: a workgroup computes a TILE x TILE block (TILE rows x TILE tokens);
// 16 x 16 threads, each owning 2 x 2 outputs. Per step of TILE columns it
// decodes the weight tile once into shared memory (one decode4 per thread)
// and reuses it for all TILE tokens.
// Dispatch: (ceil(rows / TILE), ceil(n_tokens / TILE)) workgroups.

//#include matrix

//#include decode

const TILE: u32 = 32u;
const K4_PER_TILE: u32 = TILE / 4u;
// +1 column breaks shared-memory bank conflicts on the inner loop.
const PITCH: u32 = TILE + 1u;

var<workgroup> w_tile: array<f32, TILE * PITCH>;
var<workgroup> x_tile: array<f32, TILE * PITCH>;

@compute @workgroup_size(16, 16)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid3: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row0 = wid.x * TILE;
  let tok0 = wid.y * TILE;
  let k4_count = params.cols / 4u;
  // Loader role: one (row or token, k4) slot of the tile per thread.
  let load_line = lid / K4_PER_TILE;
  let load_k4 = lid % K4_PER_TILE;

  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var k4_base = 0u; k4_base < k4_count; k4_base += K4_PER_TILE) {
    let k4 = k4_base + load_k4;
    var wv = vec4<f32>(0.0);
    let r = row0 + load_line;
    if (r < params.rows && k4 < k4_count) {
      wv = decode4(r * params.row_bytes, k4);
    }
    var xv = vec4<f32>(0.0);
    let t = tok0 + load_line;
    if (t < params.n_tokens && k4 < k4_count) {
      xv = x[t * k4_count + k4];
    }
    let base = load_line * PITCH + load_k4 * 4u;
    w_tile[base] = wv.x;
    w_tile[base + 1u] = wv.y;
    w_tile[base + 2u] = wv.z;
    w_tile[base + 3u] = wv.w;
    x_tile[base] = xv.x;
    x_tile[base + 1u] = xv.y;
    x_tile[base + 2u] = xv.z;
    x_tile[base + 3u] = xv.w;
    workgroupBarrier();

    let wr = lid3.y * 2u;
    let xt = lid3.x * 2u;
    for (var kk = 0u; kk < TILE; kk++) {
      let w0 = w_tile[wr * PITCH + kk];
      let w1 = w_tile[(wr + 1u) * PITCH + kk];
      let x0 = x_tile[xt * PITCH + kk];
      let x1 = x_tile[(xt + 1u) * PITCH + kk];
      acc[0] += w0 * x0;
      acc[1] += w1 * x0;
      acc[2] += w0 * x1;
      acc[3] += w1 * x1;
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid3.y * 2u + (i & 1u);
    let t = tok0 + lid3.x * 2u + (i >> 1u);
    if (r < params.rows && t < params.n_tokens) {
      store_out(t, r, acc[i]);
    }
  }
}
