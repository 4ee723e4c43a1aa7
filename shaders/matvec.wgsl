// matvec: out[row_offset + r] = sum_c W[r, c] * x[c] (+ bias[row_offset + r])
// for the rows r < rows of one weight part. The decode path (n = 1).
//
// Layout: W is one part of a weight matrix in its GGUF block layout (row r
// starts at byte r * row_bytes), decoded in registers (no dequantized
// copy). x: cols f32 read as vec4. out: f32, whole matrix rows.
// Dispatch: one workgroup per ROWS rows, ceil(rows / ROWS) workgroups over a
// 2D grid (x * y) when that exceeds the per-dimension limit. When cols is a
// multiple of 32 the WG threads stride over the row one 32-element
// sub-block at a time with the type's dot32 (neighbouring threads read
// neighbouring blocks); otherwise 4 elements at a time with decode4, each x
// element loaded once per workgroup for ROWS rows. A shared-memory tree
// reduction finishes each row.

struct Params {
  rows: u32,
  cols: u32,
  row_bytes: u32,
  row_offset: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

//#include decode

fn act4(k4: u32) -> vec4<f32> {
  return x[k4];
}

var<workgroup> partial: array<f32, ROWS * WG>;

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let first_row = (wid.y * nwg.x + wid.x) * ROWS;
  let k4_count = params.cols / 4u;

  var acc: array<f32, ROWS>;
  if (params.cols % 32u == 0u) {
    let blocks = params.cols / 32u;
    for (var b = lid; b < blocks; b += WG) {
      for (var j = 0u; j < ROWS; j++) {
        let r = first_row + j;
        if (r < params.rows) {
          acc[j] += dot32(r * params.row_bytes, b);
        }
      }
    }
  } else {
    for (var k4 = lid; k4 < k4_count; k4 += WG) {
      let xv = x[k4];
      for (var j = 0u; j < ROWS; j++) {
        let r = first_row + j;
        if (r < params.rows) {
          acc[j] += dot(decode4(r * params.row_bytes, k4), xv);
        }
      }
    }
  }
  for (var j = 0u; j < ROWS; j++) {
    partial[j * WG + lid] = acc[j];
  }

  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      for (var j = 0u; j < ROWS; j++) {
        partial[j * WG + lid] += partial[j * WG + lid + stride];
      }
    }
  }
  workgroupBarrier();

  if (lid < ROWS) {
    let r = first_row + lid;
    if (r < params.rows) {
      let o = params.row_offset + r;
      var sum = partial[lid * WG];
      if (params.has_bias != 0u) {
        sum += bias[o];
      }
      out[o] = sum;
    }
  }
}
