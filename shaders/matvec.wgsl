// matvec: out[row_offset + r] = sum_c W[r, c] * x[c] (+ bias[row_offset + r])
// for the rows r < rows of one weight part. The decode path (n = 1) on
// devices without subgroups (and where subgroups are turned off).
//
// Layout: W is one part of a weight matrix in its GGUF block layout (row r
// starts at byte r * row_bytes), decoded in registers (no dequantized
// copy). x: cols f32 read as vec4. out: f32, whole matrix rows.
// Dispatch: one workgroup per ROWS rows, ceil(rows / ROWS) workgroups over a
// 2D grid (x * y) when that exceeds the per-dimension limit. Each row has
// its own WG / ROWS threads, which stride over it one 32-element sub-block
// at a time with the type's dot32 when cols is a multiple of 32 (4
// elements at a time with decode4 otherwise): neighbouring threads read
// neighbouring blocks. A shared-memory tree over each row's threads
// (log2(WG / ROWS) barriers, all rows at once) finishes the rows.

//#include matrix

//#include decode

const THREADS: u32 = WG / ROWS;

fn act4(k4: u32) -> vec4<f32> {
  return x[k4];
}

//#include workgroup_sum

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let t = lid % THREADS;
  let r = (wid.y * nwg.x + wid.x) * ROWS + lid / THREADS;
  let row_base = r * params.row_bytes;

  var acc = 0.0;
  if (r < params.rows) {
    if (params.cols % 32u == 0u) {
      let blocks = params.cols / 32u;
      for (var b = t; b < blocks; b += THREADS) {
        acc += dot32(row_base, b);
      }
    } else {
      let k4_count = params.cols / 4u;
      for (var k4 = t; k4 < k4_count; k4 += THREADS) {
        acc += dot(decode4(row_base, k4), x[k4]);
      }
    }
  }
  let sum = segment_sum(lid, THREADS, acc);

  if (t == 0u && r < params.rows) {
    store_out(0u, r, sum);
  }
}
