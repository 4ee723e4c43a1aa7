// Shared by the decode attention passes (split or cells, then merge): one
// Params struct for all of them, the step, the keys the step's query sees
// (first_key ..= step.pos, first_key = pos + 1 - window under a sliding
// window) and where the scratch keeps a chunk's statistics.
//#include step

struct Params {
  n_heads: u32,
  n_kv_heads: u32,
  window: u32,
  max_chunks: u32,
  scale: f32,
  softcap: f32,
  // The merge's OUT_GATE: where the per-head gates start in the gate buffer.
  gate_offset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<uniform> step: Step;

// (first_key, n_keys) of the step's query.
fn step_keys() -> vec2<u32> {
  var first_key = 0u;
  if (params.window > 0u && step.pos + 1u > params.window) {
    first_key = step.pos + 1u - params.window;
  }
  return vec2<u32>(first_key, step.pos + 1u - first_key);
}

// The scratch's layout (f32 elements): partials [n_heads][max_chunks][HEAD_DIM],
// then stats [n_heads][max_chunks][2]; cell = h * max_chunks + chunk.
// Where a cell's (m, l) pair is; its partial output is at cell * HEAD_DIM.
fn stats_at(cell: u32) -> u32 {
  return params.n_heads * params.max_chunks * HEAD_DIM + cell * 2u;
}
