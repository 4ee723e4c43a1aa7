// The sum of one value per invocation over a workgroup of WG (a power of
// two) by a shared-memory tree, log2(WG) barriers; every invocation gets it.
// Call it from uniform control flow (it has barriers).

var<workgroup> partial: array<f32, WG>;

fn workgroup_sum(lid: u32, v: f32) -> f32 {
  partial[lid] = v;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      partial[lid] += partial[lid + stride];
    }
  }
  workgroupBarrier();
  return partial[0];
}
