// GPU sampling, one digit pass of a radix select (after
// sample_common.wgsl): the histogram of one 8-bit digit (at DIGIT_SHIFT) of
// the rank key (KEY_PASS: of the logit's key, most significant byte first;
// else of the id, among tokens whose key is the selected one)
// over the tokens whose earlier digits match the selection so far
// (state.sel_key, state.sel_id). Each token weighs 1 (top-k), or with MASS
// its top-p weight, 64-bit, counted only inside the top-k cut.
// sample_scan.wgsl picks the digit where the running total reaches the target.

@group(0) @binding(6) var<storage, read_write> hist: array<atomic<u32>>;

//#if MASS
var<workgroup> local_lo: array<atomic<u32>, 256>;
var<workgroup> local_hi: array<atomic<u32>, 256>;
//#else
var<workgroup> local_count: array<atomic<u32>, 256>;
//#endif

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
//#if MASS
  atomicStore(&local_lo[lid.x], 0u);
  atomicStore(&local_hi[lid.x], 0u);
  let m = value_of_key(state.max_key);
//#else
  atomicStore(&local_count[lid.x], 0u);
//#endif
  workgroupBarrier();
  let sel_key = state.sel_key;
  let sel_id = state.sel_id;
  for (var it = 0u; it < ITEMS; it++) {
    let i = wid.x * (WG * ITEMS) + it * WG + lid.x;
    if (i >= N_VOCAB) { break; }
    let v = value_of(i);
    let k = key_of(v);
//#if KEY_PASS
//#if !FIRST_OF_PART
    if ((k >> HIGH_SHIFT) != (sel_key >> HIGH_SHIFT)) { continue; }
//#endif
    let digit = (k >> DIGIT_SHIFT) & 255u;
//#else
    if (k != sel_key) { continue; }
//#if !FIRST_OF_PART
    if ((i >> HIGH_SHIFT) != (sel_id >> HIGH_SHIFT)) { continue; }
//#endif
    let digit = (i >> DIGIT_SHIFT) & 255u;
//#endif
//#if MASS
    if (!in_prefix(k, i, state.cutk_key, state.cutk_id)) { continue; }
    let w = top_p_weight(v - m);
    let old = atomicAdd(&local_lo[digit], w.x);
    let carry = select(0u, 1u, old + w.x < old);
    if (w.y + carry > 0u) { atomicAdd(&local_hi[digit], w.y + carry); }
//#else
    atomicAdd(&local_count[digit], 1u);
//#endif
  }
  workgroupBarrier();
//#if MASS
  let lo = atomicLoad(&local_lo[lid.x]);
  let hi = atomicLoad(&local_hi[lid.x]);
  if (lo != 0u) {
    let old = atomicAdd(&hist[lid.x], lo);
    if (old + lo < old) { atomicAdd(&hist[256u + lid.x], 1u); }
  }
  if (hi != 0u) { atomicAdd(&hist[256u + lid.x], hi); }
//#else
  let c = atomicLoad(&local_count[lid.x]);
  if (c != 0u) { atomicAdd(&hist[lid.x], c); }
//#endif
}
