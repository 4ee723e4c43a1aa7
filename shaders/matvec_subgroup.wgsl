// matvec_subgroup: out[row_offset + r] = sum_c W[r, c] * x[c] (+ bias[row_offset + r])
// for the rows r < rows of one weight part: the decode path (n = 1) on
// devices with the `subgroups` feature. Same bindings and result as
// matvec.wgsl, without any workgroup barrier or shared memory.
//
// Layout: as matvec.wgsl (W in its GGUF block layout, decoded in registers;
// x: cols f32 read as vec4; out: f32 whole matrix rows).
// Dispatch: one workgroup of WG threads per (WG / LANES) x RT rows, over a
// 2D grid. Each RT consecutive rows get a block of LANES consecutive
// invocations (LANES = the adapter's smallest subgroup size); the block's
// lanes stride over the rows one 32-element sub-block at a time with the
// type's dot32 (when cols is a multiple of 32; 4 elements at a time with
// decode4 otherwise), loading each input block once for the RT rows:
// neighbouring lanes read neighbouring blocks, the constant stride keeps the
// loop simple for SwiftShader's SIMD emulation, and subgroupAdd finishes
// each row.
//
// WebGPU promises neither the subgroup size nor how invocations map to
// subgroups, so the reduction does not assume a block is a subgroup: a
// subgroup reduces, one block at a time, every block it holds lanes of
// (one round when subgroup = block, as on NVIDIA, SwiftShader, Apple;
// several when a subgroup holds several blocks). A block whose lanes are
// split over subgroups (never seen in practice) is detected by counting its
// lanes, and its first lane then computes its whole rows alone: slow, right.
// Subgroup operations run in subgroup-uniform control flow; WGSL's analysis
// only knows workgroup uniformity, hence the diagnostic directive.

enable subgroups;
diagnostic(off, subgroup_uniformity);

//#include matrix

//#include decode

const NO_BLOCK: u32 = 0xffffffffu;

// The input block the dot pieces read through act4: elements 32b .. 32b+31,
// loaded once per block for all RT rows of a block of lanes.
var<private> xs: array<vec4<f32>, 8>;

fn load_block(b: u32) {
  for (var i = 0u; i < 8u; i++) {
    xs[i] = x[b * 8u + i];
  }
}

fn act4(k4: u32) -> vec4<f32> {
  return xs[k4 & 7u];
}

// Row r's dot product alone (the fallback below), one lane doing it all.
fn row_dot(r: u32) -> f32 {
  let row_base = r * params.row_bytes;
  var acc = 0.0;
  if (params.cols % 32u == 0u) {
    for (var b = 0u; b < params.cols / 32u; b++) {
      load_block(b);
      acc += dot32(row_base, b);
    }
  } else {
    for (var k4 = 0u; k4 < params.cols / 4u; k4++) {
      acc += dot(decode4(row_base, k4), x[k4]);
    }
  }
  return acc;
}


@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let block = lid / LANES;
  let lane = lid % LANES;
  let r0 = ((wid.y * nwg.x + wid.x) * (WG / LANES) + block) * RT;
  var acc = array<f32, RT>();
  if (r0 < params.rows) {
    if (params.cols % 32u == 0u) {
      for (var b = lane; b < params.cols / 32u; b += LANES) {
        load_block(b);
        for (var i = 0u; i < RT; i++) {
          if (r0 + i < params.rows) {
            acc[i] += dot32((r0 + i) * params.row_bytes, b);
          }
        }
      }
    } else {
      for (var k4 = lane; k4 < params.cols / 4u; k4 += LANES) {
        let xv = x[k4];
        for (var i = 0u; i < RT; i++) {
          if (r0 + i < params.rows) {
            acc[i] += dot(decode4((r0 + i) * params.row_bytes, k4), xv);
          }
        }
      }
    }
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
    let lanes_here = subgroupAdd(select(0u, 1u, mine));
    var sums: array<f32, RT>;
    for (var i = 0u; i < RT; i++) {
      sums[i] = subgroupAdd(select(0.0, acc[i], mine));
    }
    if (mine) {
      done = true;
      if (lane == 0u) {
        for (var i = 0u; i < RT; i++) {
          if (r0 + i < params.rows) {
            if (lanes_here == LANES) {
              store_out(0u, r0 + i, sums[i]);
            } else {
              store_out(0u, r0 + i, row_dot(r0 + i));
            }
          }
        }
      }
    }
  }
}
