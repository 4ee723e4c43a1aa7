// Dispatches made once and replayed every token: the decode pass and GPU
// sampling build their pipelines, parameter buffers and bind groups when a
// model loads (again only when a bound buffer is replaced), so a token
// costs one small queue write, the replay of these lists and one submit.

/** One compute dispatch whose every object was created ahead of time. */
export interface RecordedDispatch {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  /** Workgroup counts; ignored when `indirect` is set. */
  readonly groups: readonly [number, number, number];
  /** Workgroup counts read from a buffer at dispatch time (they change per token, e.g. attention over a growing context). */
  readonly indirect?: { readonly buffer: GPUBuffer; readonly offset: number };
  /** What it computes: the kernel, and the weights it reads (benchmarks' per-kernel profiles; also the bind group's label). */
  readonly label?: string;
  /** A decode matvec's projection site (decode-matvec.ts matvecSite): the matvec search times each site's dispatches together. */
  readonly site?: string;
}

/** Replays recorded dispatches into a compute pass: no allocation, no lookups. */
export function encodeDispatches(pass: GPUComputePassEncoder, list: readonly RecordedDispatch[]): void {
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    if (d.indirect) pass.dispatchWorkgroupsIndirect(d.indirect.buffer, d.indirect.offset);
    else pass.dispatchWorkgroups(d.groups[0], d.groups[1], d.groups[2]);
  }
}

/**
 * The per-token values of the decode pass, one 16-byte uniform written once
 * per token (`shaders/step.wgsl` declares the same struct):
 * - pos: the position of the token being evaluated;
 * - sample_index: how many tokens GPU sampling has drawn in this request
 *   (the counter of its random stream and the slot in its history ring).
 */
export const STEP_FIELDS = ['pos', 'sample_index'] as const;
export const STEP_BYTES = 16;
