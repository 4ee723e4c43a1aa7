// The KV cache: per layer, one buffer of keys and one of values, each a row
// of kvDim f32 per position.

export interface KvCache {
  /** Positions the buffers can hold now. */
  capacity: number;
  keys: GPUBuffer[];
  values: GPUBuffer[];
}
