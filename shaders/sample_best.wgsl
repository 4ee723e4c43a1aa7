// Shared by sample_argmax and sample_final: `partials` (the per-workgroup
// best (key, id) of sample_argmax, which sample_final reduces), the order of
// candidates (larger key first, lower id on ties) and a workgroup's best.
@group(0) @binding(5) var<storage, read_write> partials: array<vec2<u32>>;

var<workgroup> best_key: array<u32, WG>;
var<workgroup> best_id: array<u32, WG>;

fn better(ka: u32, ia: u32, kb: u32, ib: u32) -> bool {
  return ka > kb || (ka == kb && ia < ib);
}

// The best of the invocations' (key, id), returned to invocation 0 (the
// others get their own back). One invocation finishes: a loop of barriers
// costs more than WG reads on some devices (SwiftShader).
fn workgroup_best(lid: u32, key: u32, id: u32) -> vec2<u32> {
  best_key[lid] = key;
  best_id[lid] = id;
  workgroupBarrier();
  var bk = key;
  var bi = id;
  if (lid == 0u) {
    for (var t = 1u; t < WG; t++) {
      if (better(best_key[t], best_id[t], bk, bi)) {
        bk = best_key[t];
        bi = best_id[t];
      }
    }
  }
  return vec2<u32>(bk, bi);
}
