// Shared by the decode attention passes (split or cells, then merge): one
// Params struct for all of them, the step, and the keys the step's query
// sees: first_key ..= step.pos, first_key = pos + 1 - window under a
// sliding window.
//#include step

struct Params {
  n_heads: u32,
  n_kv_heads: u32,
  window: u32,
  max_chunks: u32,
  scale: f32,
  softcap: f32,
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
