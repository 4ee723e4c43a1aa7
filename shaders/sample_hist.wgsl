// GPU sampling, one digit pass of a radix select (after
// sample_common.wgsl): the histogram of one 8-bit digit (at DIGIT_SHIFT) of
// the rank key (KEY_PASS: of the logit's key, most significant byte first;
// else of the id, among tokens whose key is the selected one)
// over the tokens whose earlier digits match the selection so far
// (state.sel_key, state.sel_id). Each token weighs 1 (top-k), or with MASS
// its top-p weight, 64-bit, counted only inside the top-k cut (and the
// tokens per bin too).
// sample_scan.wgsl picks the digit where the running total reaches the target.

@group(0) @binding(6) var<storage, read_write> hist: array<atomic<u32>>;

//#if MASS
var<workgroup> local_lo: array<atomic<u32>, 256>;
var<workgroup> local_hi: array<atomic<u32>, 256>;
// Tokens per bin: the scan of the last key digit needs to know whether the cut's key is one token's.
var<workgroup> local_n: array<atomic<u32>, 256>;
//#else
var<workgroup> local_count: array<atomic<u32>, 256>;
//#endif

// Adds a run of tokens with the same digit at once: most tokens share the
// leading digits, and one atomic per run instead of per token keeps the
// workgroup's atomics from serialising on a few bins.
fn flush(digit: u32, acc: vec2<u32>, tokens: u32) {
  if (digit > 255u || tokens == 0u) { return; }
//#if MASS
  atomicAdd(&local_n[digit], tokens);
  let old = atomicAdd(&local_lo[digit], acc.x);
  let hi = acc.y + select(0u, 1u, old + acc.x < old);
  if (hi > 0u) { atomicAdd(&local_hi[digit], hi); }
//#else
  atomicAdd(&local_count[digit], acc.x);
//#endif
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
//#if MASS
  let m = value_of_key(state.max_key);
//#endif
  // Workgroup memory starts zeroed.
  let sel_key = state.sel_key;
  let sel_id = state.sel_id;
  var run_digit = 0xffffffffu;
  var run = vec2<u32>(0u, 0u);
  var run_tokens = 0u;
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
//#else
    let w = vec2<u32>(1u, 0u);
//#endif
    if (digit != run_digit) {
      flush(run_digit, run, run_tokens);
      run_digit = digit;
      run = vec2<u32>(0u, 0u);
      run_tokens = 0u;
    }
    run = add64(run, w);
    run_tokens += 1u;
  }
  flush(run_digit, run, run_tokens);
  workgroupBarrier();
  for (var b = lid.x; b < 256u; b += WG) {
//#if MASS
    let lo = atomicLoad(&local_lo[b]);
    let hi = atomicLoad(&local_hi[b]);
    if (lo != 0u) {
      let old = atomicAdd(&hist[b], lo);
      if (old + lo < old) { atomicAdd(&hist[256u + b], 1u); }
    }
    if (hi != 0u) { atomicAdd(&hist[256u + b], hi); }
    let tokens = atomicLoad(&local_n[b]);
    if (tokens != 0u) { atomicAdd(&hist[512u + b], tokens); }
//#else
    let c = atomicLoad(&local_count[b]);
    if (c != 0u) { atomicAdd(&hist[b], c); }
//#endif
  }
}
