// The gated units (silu_mul, gelu_mul): out[i] = activation(gate[i]) * up[i],
// with the kernel's `activation`, in place: `dst` holds either the gate
// (GATE_IS_TARGET) or the up values, `other` the rest.
//#include in_place

fn element(i: u32) {
  let t = dst[i];
  let o = other[i];
  let g = select(o, t, GATE_IS_TARGET);
  let u = select(t, o, GATE_IS_TARGET);
  dst[i] = activation(g) * u;
}
