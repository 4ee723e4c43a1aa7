// GPU sampling, the one-workgroup end of sample_argmax.wgsl: reduces its
// GROUPS partials. STATS: records the largest penalised logit and its id.
// Otherwise writes the chosen id to token_out[0] (DRAW: the drawn one, or
// the best-ranked when every logit is -inf) and appends it to the penalty
// window: ring slot (hist_len + sample_index) % window, counts updated.

//#include sample_best
//#if !STATS
@group(0) @binding(7) var<storage, read_write> ring: array<u32>;
@group(0) @binding(8) var<storage, read_write> token_out: array<u32>;
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  var bk = 0u;
  var bi = 0xffffffffu;
  for (var g = lid.x; g < GROUPS; g += WG) {
    let p = partials[g];
    if (better(p.x, p.y, bk, bi)) {
      bk = p.x;
      bi = p.y;
    }
  }
  let best = workgroup_best(lid.x, bk, bi);
  if (lid.x != 0u) { return; }
//#if STATS
  state.max_key = best.x;
  state.max_id = best.y;
//#else
  var token = best.y;
//#if DRAW
  // The key of -inf: every logit is -inf (or NaN), nothing to draw from.
  if (state.max_key == 0x007fffffu) { token = state.max_id; }
//#endif
  token_out[0] = token;
  let window = params.window;
  if (window == WINDOW_ALL) {
    counts[token] += 1u;
  } else if (window != 0u) {
    let pos = params.hist_len + step.sample_index;
    let slot = pos % window;
    if (pos >= window) { counts[ring[slot]] -= 1u; }
    ring[slot] = token;
    counts[token] += 1u;
  }
//#endif
}
