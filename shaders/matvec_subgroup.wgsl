// matvec_subgroup: out[row_offset + r] = sum_c W[r, c] * x[c] (+ bias[row_offset + r])
// for the rows r < rows of one weight part: the decode path (n = 1) on
// devices with the `subgroups` feature. Same bindings and result as
// matvec.wgsl, without any workgroup barrier or shared memory.
//
// Layout: as matvec.wgsl (W in its GGUF block layout, decoded in registers;
// x: cols f32 read as vec4; out: f32 whole matrix rows).
// Dispatch: one workgroup of WG threads per WG / LANES rows, over a 2D grid.
// Each row gets a block of LANES consecutive invocations (LANES = the
// adapter's smallest subgroup size); the block's lanes stride over the row
// one 32-element sub-block at a time with the type's dot32 (when cols is a
// multiple of 32; 4 elements at a time with decode4 otherwise): neighbouring
// lanes read neighbouring blocks, the constant stride keeps the loop simple
// for SwiftShader's SIMD emulation, and subgroupAdd finishes the row.
//
// WebGPU promises neither the subgroup size nor how invocations map to
// subgroups, so the reduction does not assume a block is a subgroup: a
// subgroup reduces, one block at a time, every block it holds lanes of
// (one round when subgroup = block, as on NVIDIA, SwiftShader, Apple;
// several when a subgroup holds several blocks). A block whose lanes are
// split over subgroups (never seen in practice) is detected by counting its
// lanes, and its first lane then computes the whole row alone: slow, right.
// Subgroup operations run in subgroup-uniform control flow; WGSL's analysis
// only knows workgroup uniformity, hence the diagnostic directive.

enable subgroups;
diagnostic(off, subgroup_uniformity);

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

const NO_BLOCK: u32 = 0xffffffffu;

fn act4(k4: u32) -> vec4<f32> {
  return x[k4];
}

// The part of row r's dot product from every stride-th step starting at
// `first`: steps are 32-element sub-blocks when cols allows, else 4 elements.
fn row_dot(r: u32, first: u32, stride: u32) -> f32 {
  let row_base = r * params.row_bytes;
  var acc = 0.0;
  if (params.cols % 32u == 0u) {
    let blocks = params.cols / 32u;
    for (var b = first; b < blocks; b += stride) {
      acc += dot32(row_base, b);
    }
  } else {
    let k4_count = params.cols / 4u;
    for (var k4 = first; k4 < k4_count; k4 += stride) {
      acc += dot(decode4(row_base, k4), x[k4]);
    }
  }
  return acc;
}

fn write_row(r: u32, sum: f32) {
  let o = params.row_offset + r;
  var v = sum;
  if (params.has_bias != 0u) {
    v += bias[o];
  }
  out[o] = v;
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let block = lid / LANES;
  let lane = lid % LANES;
  let r = (wid.y * nwg.x + wid.x) * (WG / LANES) + block;
  let has_row = r < params.rows;
  var acc = 0.0;
  if (has_row) {
    acc = row_dot(r, lane, LANES);
  }

  // Every lane stays in the loop until its own block is reduced, so the
  // subgroup operations always see all of the subgroup's lanes.
  var done = false;
  loop {
    let current = subgroupMin(select(block, NO_BLOCK, done));
    if (current == NO_BLOCK) {
      break;
    }
    let mine = block == current;
    let sum = subgroupAdd(select(0.0, acc, mine));
    let lanes_here = subgroupAdd(select(0u, 1u, mine));
    if (mine) {
      done = true;
      if (lane == 0u && has_row) {
        if (lanes_here == LANES) {
          write_row(r, sum);
        } else {
          write_row(r, row_dot(r, 0u, 1u));
        }
      }
    }
  }
}
