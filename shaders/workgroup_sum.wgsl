// Sums of one value per invocation by a shared-memory tree, log2(width)
// barriers. Call them from uniform control flow (they have barriers).

var<workgroup> partial: array<f32, WG>;

// The sum over each segment of `width` consecutive invocations (a power of
// two dividing WG), returned to all of the segment's invocations.
fn segment_sum(lid: u32, width: u32, v: f32) -> f32 {
  let t = lid % width;
  partial[lid] = v;
  for (var stride = width / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (t < stride) {
      partial[lid] += partial[lid + stride];
    }
  }
  workgroupBarrier();
  return partial[lid - t];
}

// The sum over the whole workgroup (WG a power of two).
fn workgroup_sum(lid: u32, v: f32) -> f32 {
  return segment_sum(lid, WG, v);
}
