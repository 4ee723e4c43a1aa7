// add: acc[i] += b[i], with acc in `dst` and b in `other` (in_place.wgsl).
// In place, because WebGPU forbids binding one buffer twice when one binding
// is writable; out = a + b into a third buffer is a copy followed by this.
// Layout: f32 arrays of count elements.
// Dispatch: one thread per element, WG per workgroup, 2D grid when needed.

//#include in_place

fn element(i: u32) {
  dst[i] += other[i];
}
