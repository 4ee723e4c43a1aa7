// GPU sampling, the one-workgroup step after sample_hist.wgsl: walks the
// 256 bins best first (key digits from 255 down, id digits from 0 up) and
// takes the digit whose bin makes the running total reach what remains of
// the target (FIRST_PASS sets it: top_k tokens, or with MASS the top-p
// target of the total mass). With LAST, the selected (key, id) is the cut:
// cutp with MASS, else cutk. With KEY_LAST (the last key digit): when the
// cut's key is one token's or its tokens are all taken, that is the cut, and
// the id passes are dispatched with 0 workgroups (indirect arguments at
// ARGS_BASE); else they run. Clears the histogram for the next pass.

@group(0) @binding(6) var<storage, read_write> hist: array<atomic<u32>>;
//#if KEY_LAST
@group(0) @binding(9) var<storage, read_write> args: array<u32>;
//#endif

fn bin(b: u32) -> vec2<u32> {
//#if MASS
  return vec2<u32>(atomicLoad(&hist[b]), atomicLoad(&hist[256u + b]));
//#else
  return vec2<u32>(atomicLoad(&hist[b]), 0u);
//#endif
}

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  if (lid.x == 0u) {
    var rem = vec2<u32>(state.rem_lo, state.rem_hi);
//#if FIRST_PASS
//#if MASS
      var total = vec2<u32>(0u, 0u);
      for (var b = 0u; b < 256u; b++) { total = add64(total, bin(b)); }
      rem = top_p_target(params.top_p_fixed, total);
//#else
      rem = vec2<u32>(params.top_k, 0u);
//#endif
//#endif
    var digit = 0u;
    var group = vec2<u32>(0u, 0u);
    for (var s = 0u; s < 256u; s++) {
//#if KEY_PASS
      let b = 255u - s;
//#else
      let b = s;
//#endif
      let h = bin(b);
      digit = b;
      group = h;
      if (ge64(h, rem)) { break; }
      rem = sub64(rem, h);
    }
    state.rem_lo = rem.x;
    state.rem_hi = rem.y;
//#if KEY_PASS
    var sel = state.sel_key;
//#else
    var sel = state.sel_id;
//#endif
//#if FIRST_OF_PART
    sel = digit << DIGIT_SHIFT;
//#else
    sel = ((sel >> HIGH_SHIFT) << HIGH_SHIFT) | (digit << DIGIT_SHIFT);
//#endif
//#if KEY_PASS
    state.sel_key = sel;
//#else
    state.sel_id = sel;
//#endif
//#if KEY_LAST
//#if MASS
    let tokens = atomicLoad(&hist[512u + digit]);
//#else
    let tokens = group.x;
//#endif
    let whole = tokens == 1u || (group.x == rem.x && group.y == rem.y);
    if (whole) {
//#if MASS
      state.cutp_key = state.sel_key;
      state.cutp_id = 0xffffffffu;
//#else
      state.cutk_key = state.sel_key;
      state.cutk_id = 0xffffffffu;
//#endif
    }
    args[ARGS_BASE] = select(GROUPS, 0u, whole);
    args[ARGS_BASE + 1u] = 1u;
    args[ARGS_BASE + 2u] = 1u;
    args[ARGS_BASE + 4u] = select(1u, 0u, whole);
    args[ARGS_BASE + 5u] = 1u;
    args[ARGS_BASE + 6u] = 1u;
//#endif
//#if LAST
//#if MASS
    state.cutp_key = state.sel_key;
    state.cutp_id = state.sel_id;
//#else
    state.cutk_key = state.sel_key;
    state.cutk_id = state.sel_id;
//#endif
//#endif
  }
  workgroupBarrier();
  atomicStore(&hist[lid.x], 0u);
//#if MASS
  atomicStore(&hist[256u + lid.x], 0u);
  atomicStore(&hist[512u + lid.x], 0u);
//#endif
}
