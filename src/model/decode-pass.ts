// The one-token pass, recorded once and replayed every token. Recording
// (recordDecodeToken over the GPU's DecodeOps) makes every pipeline,
// parameter slot and bind group; it is redone only when a buffer it binds
// is replaced (the KV cache grew). A token then costs one 16-byte-per-window
// queue write (the step: position, sampling counter, attention's workgroup
// counts), the replay of the list into one compute pass, and one submit.

import { ClawError } from '../errors';
import type { GpuAllocator } from '../gpu/allocator';
import { decodeAttentionFloats, DECODE_PARAM_BUFFER_BYTES, DECODE_PARAM_SLOTS_PER_BUFFER, stepBufferBytes } from '../gpu/decode-ops';
import { DECODE_KERNELS } from '../gpu/kernels';
import type { DecodeRecording, GpuOps } from '../gpu/ops-api';
import { chooseMatvec, type CandidateRun, type MatvecAutotuneReport } from '../gpu/matvec-autotune';
import type { MatvecChoice } from '../gpu/matvec-tuning';
import { encodeDispatches, STEP_BYTES, type RecordedDispatch } from '../gpu/recorded';
import { gpuSamplerBytes } from '../gpu/gpu-sampler';
import { layerAttention, type Hyperparams } from './hparams';
import { TOKEN_PIPELINE_BYTES } from './token-pipeline';
import type { KvCache } from './kv-cache';
import { recordDecodeToken, type Scratch } from './forward';
import type { ModelWeights } from './weights';

const STEP_USAGE = 0x40 | 0x100 | 0x08; // UNIFORM | INDIRECT | COPY_DST
/** Attention windows a model may mix (global and one sliding window). */
const MAX_WINDOWS = 2;

/**
 * Dispatches of one recorded token, at most: the embedding's parts and
 * scale, up to 12 per layer (a gemma4 layer with per-layer inputs in the
 * CPU-emulation family), gemma4's per-layer projections (four layers a
 * dispatch) and inputs, the output's parts.
 */
export function maxDecodeDispatches(hp: Hyperparams): number {
  return 2 + hp.nLayers * 12 + Math.ceil(hp.nLayers / 4) + 1 + 16;
}

/**
 * Bytes a decode pass allocates at a KV capacity of `ctx` positions, with
 * its GPU sampler and token pipeline (for the memory planner). All of it is
 * the model's, booked as activations (its parameter and step buffers too):
 * 'uniforms' and 'staging' are the kernels' own buffers that outlive a model.
 */
export function decodePassBytes(hp: Hyperparams, ctx: number): number {
  const params = Math.ceil(maxDecodeDispatches(hp) / DECODE_PARAM_SLOTS_PER_BUFFER) * DECODE_PARAM_BUFFER_BYTES;
  // The residual stream's second buffer (where a post-norm's add folded into the next matvec stores x'; gemma).
  const twin = Math.max(16, hp.nEmbd * 4);
  const pass = params + stepBufferBytes(MAX_WINDOWS) + Math.max(16, decodeAttentionFloats(hp.nHeads, hp.headDim, ctx) * 4) + twin;
  return pass + gpuSamplerBytes(hp.nVocab) + TOKEN_PIPELINE_BYTES;
}

/** Why a model cannot use the recorded decode pass (it then decodes through the batch path), or null. */
export function decodePassUnsupported(hp: Hyperparams, w: ModelWeights): string | null {
  for (const headDim of new Set([hp.headDim, ...(hp.gemma4?.layers.map((s) => s.headDim) ?? [])])) if (headDim % 4 !== 0) return `head size ${headDim} is not a multiple of 4`;
  if (hp.nEmbd % 4 !== 0 || hp.nFf % 4 !== 0) return 'a projection width is not a multiple of 4';
  const windows = new Set(Array.from({ length: hp.nLayers }, (_, l) => layerAttention(hp, l).window));
  if (windows.size > MAX_WINDOWS) return `${windows.size} different attention windows`;
  for (const layer of [...w.layers, ...(w.qwen35 ?? [])]) {
    if (layer.wGate.parts.length !== 1 || layer.wUp.parts.length !== 1) return `${layer.wGate.name} is split into parts`;
  }
  // qwen35's attn_q alternates query and gate rows per head, which the projection splits: one part.
  for (const layer of w.qwen35 ?? []) if (layer.attention && layer.attention.wqg.parts.length !== 1) return `${layer.attention.wqg.name} is split into parts`;
  return null;
}

export class DecodePass {
  private recording: DecodeRecording | null = null;
  /** The matvec tuning the pass records with (undefined: the ops' own); set by prepare()'s search. */
  private matvec: MatvecChoice | undefined;
  /** What prepare()'s search measured and chose at load (GpuOpsOptions.matvec 'auto'); null when it did not run. */
  autotune: MatvecAutotuneReport | null = null;
  private list: RecordedDispatch[] = [];
  /** The KV cache's buffersVersion when recorded: the pass is recorded again once a buffer it binds is replaced. */
  private recordedFor = -1;
  private readonly step: GPUBuffer;
  private readonly stepWords: Uint32Array<ArrayBuffer>;

  constructor(
    private readonly ops: GpuOps,
    private readonly allocator: GpuAllocator,
    private readonly hp: Hyperparams,
    private readonly weights: ModelWeights,
    private readonly kv: KvCache,
    private readonly scratch: Scratch,
  ) {
    this.step = allocator.allocSync('activations', stepBufferBytes(MAX_WINDOWS), STEP_USAGE, 'decode step');
    this.stepWords = new Uint32Array(stepBufferBytes(MAX_WINDOWS) / 4);
  }

  /**
   * Records the pass now, its kernels compiled in parallel (at load, so the
   * first token compiles and creates nothing); where the ops ask for it
   * (GpuOpsOptions.matvec 'auto'), first times the matvec tunings on this
   * model's weights and records with the fastest.
   */
  async prepare(): Promise<void> {
    this.recording?.free();
    this.recording = null;
    const { matvecAutotune: candidates, matvecStore: store } = this.ops;
    if (candidates) {
      const target = { record: (matvec: MatvecChoice) => this.candidate(matvec), signature: (matvec: MatvecChoice) => this.signature(matvec), now: () => performance.now() };
      const memory = store ? { store, context: this.ops.matvecSearchContext, model: JSON.stringify(this.hp), remeasure: this.ops.matvecRemeasure } : null;
      const { report, choice } = await chooseMatvec(target, candidates, memory);
      this.autotune = report;
      this.matvec = choice;
    }
    const recording = this.startRecording(this.matvec);
    await recording.compile();
    this.finishRecording(recording);
  }

  /** The dispatches of one token (recorded now if the KV cache changed); for counters and tests. */
  get dispatches(): readonly RecordedDispatch[] {
    this.ensureRecorded();
    return this.list;
  }

  /**
   * Records one token at `pos` into a new encoder and submits it: the id is
   * read from scratch.ids[0]; `after` appends dispatches to the same pass
   * (GPU sampling) and `finish` commands after it (a read-back copy).
   */
  run(pos: number, sampleIndex: number, after?: readonly RecordedDispatch[], finish?: (encoder: GPUCommandEncoder) => void): void {
    if (pos >= this.kv.capacity) throw new ClawError('clw-ctx-overflow', `decode position ${pos} is past the KV cache's ${this.kv.capacity} positions`);
    this.ensureRecorded();
    this.writeStep(pos, sampleIndex);
    this.submit(this.list, after, finish);
  }

  /** Submits only `dispatches` (a draw from the logits already there), with the step's sampling counter set. */
  sample(sampleIndex: number, dispatches: readonly RecordedDispatch[], finish?: (encoder: GPUCommandEncoder) => void): void {
    this.ensureRecorded();
    this.writeStep(0, sampleIndex);
    this.submit(dispatches, undefined, finish);
  }

  /** The pass recorded and compiled under `matvec`, for the search to time at position 0 (before any request: the first prompt overwrites what it writes). */
  private async candidate(matvec: MatvecChoice): Promise<CandidateRun> {
    const recording = this.startRecording(matvec);
    try {
      await recording.compile();
    } catch (e) {
      recording.free();
      throw e;
    }
    const list = recording.finish();
    // Each projection site's matvec dispatches, over every layer.
    const bySite = new Map<string, RecordedDispatch[]>();
    for (const d of list) if (d.site !== undefined) bySite.set(d.site, [...(bySite.get(d.site) ?? []), d]);
    return {
      sites: [...bySite.keys()],
      run: (passes, site) => {
        this.writeStep(0, 0, recording);
        this.submit(site === undefined ? list : bySite.get(site)!, undefined, undefined, passes);
        return this.ops.device.queue.onSubmittedWorkDone();
      },
      free: () => recording.free(),
    };
  }

  /** What the pass under `matvec` would dispatch (DecodeRecording.signature), recorded without compiling anything. */
  private signature(matvec: MatvecChoice): string {
    const recording = this.startRecording(matvec);
    try {
      return recording.signature();
    } finally {
      recording.free();
    }
  }

  /** One compute pass of `first` (`times` over) then `then`, the `finish` commands after it, one submit. */
  private submit(first: readonly RecordedDispatch[], then?: readonly RecordedDispatch[], finish?: (encoder: GPUCommandEncoder) => void, times = 1): void {
    const device = this.ops.device;
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (let i = 0; i < times; i++) encodeDispatches(pass, first);
    if (then) encodeDispatches(pass, then);
    pass.end();
    finish?.(encoder);
    device.queue.submit([encoder.finish()]);
  }

  /** The step buffer (the GPU sampler reads its sampling counter there). */
  get stepBuffer(): GPUBuffer {
    return this.step;
  }

  free(): void {
    this.recording?.free();
    this.recording = null;
  }

  private ensureRecorded(): void {
    if (this.recording && this.recordedFor === this.kv.buffersVersion) return;
    this.recording?.free();
    this.recording = null;
    this.finishRecording(this.startRecording(this.matvec));
  }

  private startRecording(matvec: MatvecChoice | undefined): DecodeRecording {
    const recording = this.ops.recordDecode(this.allocator, this.step, this.kv.capacity, { nHeads: this.hp.nHeads, headDim: this.hp.headDim }, matvec);
    recordDecodeToken(recording, this.hp, this.weights, this.kv, this.scratch);
    return recording;
  }

  private finishRecording(recording: DecodeRecording): void {
    this.list = recording.finish();
    this.recording = recording;
    this.recordedFor = this.kv.buffersVersion;
  }

  /** Step uniform (position, sampling counter), then per attention window its split pass's workgroup counts. */
  private writeStep(pos: number, sampleIndex: number, recording = this.recording!): void {
    const words = this.stepWords;
    words[0] = pos;
    words[1] = sampleIndex;
    const { windows, maxWorkgroups, attentionByCell } = recording;
    const nHeads = this.hp.nHeads;
    for (let i = 0; i < windows.length; i++) {
      const window = windows[i];
      const firstKey = window > 0 && pos + 1 > window ? pos + 1 - window : 0;
      const chunks = Math.ceil((pos + 1 - firstKey) / DECODE_KERNELS.ATTENTION_CHUNK);
      const o = STEP_BYTES / 4 + 4 * i;
      if (attentionByCell) {
        words[o] = Math.min(maxWorkgroups, Math.ceil((nHeads * chunks) / DECODE_KERNELS.HEAD_WG));
        words[o + 1] = 1;
      } else {
        // (chunks, heads) workgroups; under a cap, heads first.
        const heads = Math.min(nHeads, maxWorkgroups);
        words[o] = Math.min(chunks, Math.max(1, Math.floor(maxWorkgroups / heads)));
        words[o + 1] = heads;
      }
      words[o + 2] = 1;
    }
    this.ops.device.queue.writeBuffer(this.step, 0, words);
  }
}
