// The decode pass's per-token values (src/gpu/recorded.ts, STEP_FIELDS):
// written once per token, read by every kernel that depends on the position
// or the sampling step. Kernels bind it as `step` at the binding they choose.
struct Step {
  pos: u32,
  sample_index: u32,
  _pad0: u32,
  _pad1: u32,
}
