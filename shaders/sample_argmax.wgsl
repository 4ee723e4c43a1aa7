// GPU sampling, per-workgroup best token over CHUNK logits (after
// sample_common.wgsl). Without DRAW: the largest penalised logit (its key),
// lowest id on ties. With DRAW: the seeded draw, the largest
// (logit - max) * inv_temp + gumbel(seed, sample_index, id) over the
// candidates (inside the top-k and top-p cuts, at or above the min-p
// threshold). sample_final.wgsl reduces the partials.

@group(0) @binding(5) var<storage, read_write> partials: array<vec2<u32>>;

var<workgroup> best_key: array<u32, WG>;
var<workgroup> best_id: array<u32, WG>;

fn better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  var bk = 0u;
  var bi = 0xffffffffu;
//#if DRAW
  let m = value_of_key(state.max_key);
  let threshold = m + params.log_min_p;
//#endif
  for (var it = 0u; it < ITEMS; it++) {
    let i = wid.x * (WG * ITEMS) + it * WG + lid.x;
    if (i >= N_VOCAB) { break; }
    let v = value_of(i);
//#if DRAW
    let k = key_of(v);
    if (!in_prefix(k, i, state.cutk_key, state.cutk_id) || !in_prefix(k, i, state.cutp_key, state.cutp_id) || !(v >= threshold)) {
      continue;
    }
    let score = key_of((v - m) * params.inv_temp + gumbel(params.seed, step.sample_index, i));
//#else
    let score = key_of(v);
//#endif
    if (better(score, i, bk, bi)) {
      bk = score;
      bi = i;
    }
  }
  best_key[lid.x] = bk;
  best_id[lid.x] = bi;
  workgroupBarrier();
  // One invocation finishes: a loop of barriers costs more than WG reads on some devices (SwiftShader).
  if (lid.x != 0u) { return; }
  for (var t = 1u; t < WG; t++) {
    if (better(best_key[t], best_id[t], bk, bi)) {
      bk = best_key[t];
      bi = best_id[t];
    }
  }
  partials[wid.x] = vec2<u32>(bk, bi);
}
