// GPU sampling, per-workgroup best token over CHUNK logits (after
// sample_common.wgsl). Without DRAW: the largest penalised logit (its key),
// lowest id on ties. With DRAW: the seeded draw, the largest
// (logit - max) * inv_temp + gumbel(seed, sample_index, id) over the
// candidates (inside the top-k and top-p cuts, at or above the min-p
// threshold). sample_final.wgsl reduces the partials.

//#include sample_best

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
  let best = workgroup_best(lid.x, bk, bi);
  if (lid.x != 0u) { return; }
  partials[wid.x] = best;
}
