// Decoding with the sampled id kept on the GPU: each submission evaluates
// the latest sampled token (its id already in scratch.ids[0], where the
// sampler wrote it) and samples the next into the same place, so token t+1
// is submitted before token t's id reaches the CPU. Ids come back through a
// small ring of 4-byte read-back buffers, in order, a token or two behind;
// the caller decides how far ahead to run (and discards what it does not
// need when generation stops). Where awaiting a map polls (Node + Dawn), a
// step's read-back is asked for only when the GPU is due to have it
// (src/gpu/read-pacer.ts); elsewhere at submit.

import { ClawError, toClawError } from '../errors';
import type { GpuAllocator } from '../gpu/allocator';
import { reportedLoss, type GpuOps } from '../gpu/ops-api';
import { awaitingPolls, ReadPacer } from '../gpu/read-pacer';
import type { GpuSampler } from '../gpu/gpu-sampler';
import type { SamplingOptions } from '../engine/types';
import type { DecodePass } from './decode-pass';
import type { Scratch } from './forward';
import type { KvCache } from './kv-cache';

const READBACK_USAGE = 0x01 | 0x08; // MAP_READ | COPY_DST
/** Read-back buffers: more than the submissions the caller keeps in flight. */
export const PIPELINE_SLOTS = 4;
const SLOT_BYTES = 16;

function ignore(): void {}

/** Bytes a token pipeline allocates (for the memory planner). */
export const TOKEN_PIPELINE_BYTES = PIPELINE_SLOTS * SLOT_BYTES;

export class TokenPipeline {
  private readonly slots: GPUBuffer[] = [];
  /** The map of each slot's read-back, once asked for (at submit, or paced: when read). */
  private readonly mapped: (Promise<void> | null)[] = new Array(PIPELINE_SLOTS).fill(null);
  /** When each slot's submission was made (performance.now()), for pacing its read. */
  private readonly submittedAt = new Float64Array(PIPELINE_SLOTS);
  private readonly pacer: ReadPacer;
  /** Oldest slot in flight, and how many are. */
  private head = 0;
  private count = 0;
  /** Draws of this request so far: the sampler's random-stream counter. */
  private sampleIndex = 0;
  private readonly finish: (encoder: GPUCommandEncoder) => void;
  private current = 0;

  constructor(
    private readonly ops: GpuOps,
    allocator: GpuAllocator,
    private readonly decode: DecodePass,
    private readonly sampler: GpuSampler,
    private readonly scratch: Scratch,
    /** Told of each step (a recurrent state's positions: KvCache.beginPass, endPass). */
    private readonly kv: Pick<KvCache, 'beginPass' | 'endPass'>,
    /** Pace the read-backs of decode steps (default: where awaiting a GPU promise polls; EngineOptions.readPacing). */
    paceReads = awaitingPolls(),
  ) {
    this.pacer = new ReadPacer(paceReads);
    for (let i = 0; i < PIPELINE_SLOTS; i++) this.slots.push(allocator.allocSync('activations', SLOT_BYTES, READBACK_USAGE, `sampled id ${i}`));
    // Made once: the copy of the sampled id into the slot of the current submission.
    this.finish = (encoder) => encoder.copyBufferToBuffer(this.scratch.ids, 0, this.slots[this.current], 0, 4);
  }

  /** Submissions whose id has not been read yet. */
  get inFlight(): number {
    return this.count;
  }

  /**
   * A new request: the sampler's options and the tokens so far (penalties);
   * draws count from 0. `masked`: each draw reads the token bitmask last
   * given to mask() (a grammar: the caller keeps one draw in flight).
   */
  async begin(options: SamplingOptions, history: readonly number[], masked = false): Promise<void> {
    if (this.count > 0) throw new ClawError('clw-llm-crash', 'a token pipeline began while ids were still in flight');
    await this.sampler.begin(options, history, 0, masked);
    this.sampleIndex = 0;
    this.pacer.reset();
  }

  /** The tokens the next submitted draw may choose (bit id & 31 of word id >> 5). */
  mask(bits: Uint32Array<ArrayBuffer>): void {
    this.sampler.writeMask(bits);
  }

  /** Draws the first token from the logits a prefill left in scratch.logits. */
  sampleFromLogits(): void {
    this.submit(-1);
  }

  /** Evaluates the latest drawn token at `pos` and draws the next. */
  step(pos: number): void {
    this.submit(pos);
  }

  /** Puts `id` where the next step reads its input (after a context shift, which reuses scratch.ids). */
  setLatest(id: number): void {
    this.ops.device.queue.writeBuffer(this.scratch.ids, 0, new Uint32Array([id]));
  }

  /** The oldest unread draw. */
  async next(): Promise<number> {
    if (this.count === 0) throw new ClawError('clw-llm-crash', 'TokenPipeline.next() with nothing in flight');
    const slot = this.head;
    const mapped = this.mapped[slot] ?? this.pacer.map(this.slots[slot], 0, 4, this.submittedAt[slot]);
    this.mapped[slot] = null;
    this.head = (this.head + 1) % PIPELINE_SLOTS;
    this.count--;
    try {
      await mapped;
    } catch (e) {
      // A lost device rejects every map: report the loss, not the map (wgpu
      // fails the map before it reports the loss, so wait for that a moment).
      throw (await reportedLoss(this.ops)) ?? toClawError(e);
    }
    const buffer = this.slots[slot];
    const id = new Uint32Array(buffer.getMappedRange(0, 4))[0];
    buffer.unmap();
    return id;
  }

  /** Waits out and forgets every draw in flight (generation stopped ahead of them). */
  async drain(): Promise<void> {
    while (this.count > 0) {
      try {
        await this.next();
      } catch {
        // A lost device rejects every map; the request already has its error.
      }
    }
  }

  /** One submission: a decode step at `pos`, or (pos < 0) a draw from the logits alone; its id copied to the next slot. */
  private submit(pos: number): void {
    if (this.count >= PIPELINE_SLOTS) throw new ClawError('clw-llm-crash', `more than ${PIPELINE_SLOTS} draws in flight`);
    this.current = (this.head + this.count) % PIPELINE_SLOTS;
    if (pos < 0) this.decode.sample(this.sampleIndex, this.sampler.dispatches(), this.finish);
    else {
      // Queued in order after every earlier pass: a recurrent state has absorbed pos once it runs.
      this.kv.beginPass(pos);
      this.decode.run(pos, this.sampleIndex, this.sampler.dispatches(), this.finish);
      this.kv.endPass(pos + 1);
    }
    this.sampleIndex++;
    this.submittedAt[this.current] = performance.now();
    if (pos < 0 || !this.pacer.enabled) {
      const mapped = this.slots[this.current].mapAsync(GPUMapMode.READ, 0, 4);
      // Read (and its failure reported) by next(); until then a rejection is not unhandled.
      mapped.catch(ignore);
      this.mapped[this.current] = mapped;
    }
    this.count++;
  }
}
