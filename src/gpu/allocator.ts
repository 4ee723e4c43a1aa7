// The one owner of GPU buffers. Every buffer is created here, counted by
// purpose, and checked against a budget before the driver is asked, so the
// planner can trust the numbers and an allocation failure is a clw-gpu-oom
// that names what was being allocated, never a lost device or a crash.

import { ClawError } from '../errors';

/**
 * Usage of every storage buffer the engine makes (activations, weights, KV
 * cache): STORAGE | COPY_DST | COPY_SRC, spelled out so code that runs in
 * Node needs no GPUBufferUsage global.
 */
export const STORAGE_USAGE = 0x80 | 0x08 | 0x04;
/** Weight buffers are only written (upload, streaming) and read by kernels: STORAGE | COPY_DST. */
export const WEIGHT_USAGE = 0x80 | 0x08;

export type BufferPurpose = 'weights' | 'kv' | 'activations' | 'staging' | 'uniforms';

export const BUFFER_PURPOSES: readonly BufferPurpose[] = ['weights', 'kv', 'activations', 'staging', 'uniforms'];

export type ByPurpose = Record<BufferPurpose, number>;

/** Test hook: return true to make an allocation fail as if the GPU were out of memory. */
/**
 * A test's stand-in for the driver: true refuses the allocation as an
 * injected failure; 'gpu' refuses it the way a GPU that is out of memory
 * does (the loader then takes the bytes live as the measured budget).
 */
export type FailurePredicate = (purpose: BufferPurpose, size: number, label: string, index: number) => boolean | 'gpu';

/** Who refused an allocation: the driver (out of memory), the budget or the device's limits, or a test. */
export type Refusal = 'gpu' | 'budget' | 'limit' | 'injected';

interface LiveBuffer {
  purpose: BufferPurpose;
  size: number;
}

/** A buffer allocFilled made whose error scopes have not been awaited yet. */
interface Unsettled {
  buffer: GPUBuffer;
  purpose: BufferPurpose;
  size: number;
  label: string;
  /** Live bytes before it, as alloc's error would say. */
  liveBefore: number;
  /** Its scopes' answers: the out-of-memory one, then the validation one. */
  errors: Promise<(GPUError | null)[]>;
}

/** allocFilled's unsettled buffers the weight uploader lets pile up before it waits for their answers. */
export const MAX_UNSETTLED = 64;

/** What alloc needs from the device's limits. */
export interface AllocatorLimits {
  maxBufferSize: number;
}

function zeroByPurpose(): ByPurpose {
  return { weights: 0, kv: 0, activations: 0, staging: 0, uniforms: 0 };
}

export class GpuAllocator {
  private budget = Infinity;
  private readonly live = new Map<GPUBuffer, LiveBuffer>();
  private readonly liveBy = zeroByPurpose();
  private readonly peakBy = zeroByPurpose();
  private liveTotal = 0;
  private peakTotal = 0;
  private allocations = 0;
  private failure: FailurePredicate | undefined;
  private unsettledList: Unsettled[] = [];

  private readonly limits: AllocatorLimits;
  /** The allocator that keeps the books; `this` unless this is a scope. */
  private readonly root: GpuAllocator;
  /** A scope's own buffers (null for the root, which owns everything). */
  private readonly owned: Set<GPUBuffer> | null;

  constructor(
    private readonly device: GPUDevice,
    limits?: AllocatorLimits,
    root?: GpuAllocator,
  ) {
    this.limits = limits ?? { maxBufferSize: device.limits.maxBufferSize };
    this.root = root ?? this;
    this.owned = root ? new Set() : null;
  }

  /**
   * A scope: allocates through this allocator's books (same budget, same
   * live and peak counts) but its freeAll() frees only its own buffers. The
   * engine loads each model in a scope so unloading leaves the kernels'
   * own buffers (uniform ring, staging) alive.
   */
  scope(): GpuAllocator {
    return new GpuAllocator(this.device, this.limits, this.root);
  }

  /** Refuse allocations that would take live bytes past this. */
  get budgetBytes(): number {
    return this.root.budget;
  }
  set budgetBytes(bytes: number) {
    this.root.budget = bytes;
  }

  /** Creates a buffer inside error scopes; any failure becomes clw-gpu-oom. */
  async alloc(purpose: BufferPurpose, size: number, usage: GPUBufferUsageFlags, label: string): Promise<GPUBuffer> {
    if (this.owned) {
      const buffer = await this.root.alloc(purpose, size, usage, label);
      this.owned.add(buffer);
      return buffer;
    }
    const bytes = this.checkRequest(purpose, size, label);
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ size: bytes, usage, label });
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    const error = oom ?? validation;
    if (error) {
      buffer.destroy();
      throw this.oomError(purpose, bytes, label, `the GPU refused the buffer: ${error.message}`, oom ? 'gpu' : 'limit');
    }
    this.track(buffer, purpose, bytes);
    return buffer;
  }

  /**
   * alloc for a buffer filled as soon as it exists (the loader's weights):
   * the same budget checks and accounting, the buffer created and `fill`
   * run inside the error scopes, which are not awaited here. Awaiting them is
   * a round trip to the GPU process behind every upload before it (in
   * Chromium that was 40% of a model's load: BENCHMARKS.md, "Loading").
   * settle() awaits them and throws the first failure as alloc would have;
   * whoever allocates this way settles before the buffers are used.
   */
  allocFilled(purpose: BufferPurpose, size: number, usage: GPUBufferUsageFlags, label: string, fill: (buffer: GPUBuffer) => void): GPUBuffer {
    if (this.owned) {
      const buffer = this.root.allocFilled(purpose, size, usage, label, fill);
      this.owned.add(buffer);
      return buffer;
    }
    const bytes = this.checkRequest(purpose, size, label);
    const liveBefore = this.liveTotal;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ size: bytes, usage, label });
    let filled = false;
    try {
      fill(buffer);
      filled = true;
    } finally {
      const validation = this.device.popErrorScope();
      const oom = this.device.popErrorScope();
      const errors = Promise.all([oom, validation]);
      if (filled) {
        this.track(buffer, purpose, bytes);
        this.unsettledList.push({ buffer, purpose, size: bytes, label, liveBefore, errors });
      } else {
        errors.catch(() => {});
        buffer.destroy();
      }
    }
    return buffer;
  }

  /** Buffers allocFilled made whose answers settle() has not awaited yet (the whole device's). */
  get unsettled(): number {
    return this.root.unsettledList.length;
  }

  /** Awaits the error scopes of every allocFilled buffer; the first refused one is freed and thrown as clw-gpu-oom. */
  async settle(): Promise<void> {
    const root = this.root;
    while (root.unsettledList.length > 0) {
      const batch = root.unsettledList.splice(0);
      // A scope that cannot answer (a lost device) rejects: that reaches the caller as it is, as from alloc.
      const answers = await Promise.all(batch.map((u) => u.errors));
      const i = answers.findIndex((a) => a.some((e) => e));
      if (i < 0) continue;
      const u = batch[i];
      const [oom, validation] = answers[i];
      root.free(u.buffer);
      throw root.oomError(u.purpose, u.size, u.label, `the GPU refused the buffer: ${(oom ?? validation)!.message}`, oom ? 'gpu' : 'limit', u.liveBefore);
    }
  }

  /**
   * Same accounting and budget checks, without waiting on error scopes: for
   * small buffers created while recording (uniform ring, staging). A driver
   * failure then shows up as an uncaptured error, not here.
   */
  allocSync(purpose: BufferPurpose, size: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    if (this.owned) {
      const buffer = this.root.allocSync(purpose, size, usage, label);
      this.owned.add(buffer);
      return buffer;
    }
    const bytes = this.checkRequest(purpose, size, label);
    const buffer = this.device.createBuffer({ size: bytes, usage, label });
    this.track(buffer, purpose, bytes);
    return buffer;
  }

  /** Destroys a buffer this allocator made; unknown buffers are ignored. */
  free(buffer: GPUBuffer): void {
    if (this.owned) {
      if (this.owned.delete(buffer)) this.root.free(buffer);
      return;
    }
    const entry = this.live.get(buffer);
    if (!entry) return;
    this.live.delete(buffer);
    this.liveBy[entry.purpose] -= entry.size;
    this.liveTotal -= entry.size;
    buffer.destroy();
  }

  /** Frees every buffer this allocator (or, for a scope, this scope) made. */
  freeAll(): void {
    for (const buffer of [...(this.owned ?? this.live.keys())]) this.free(buffer);
  }

  /** Live bytes of the whole device (a scope reports its root's books). */
  liveBytes(): number {
    return this.root.liveTotal;
  }

  /** Live bytes of this scope's own buffers (the whole device for the root). */
  ownedBytes(): number {
    if (!this.owned) return this.liveTotal;
    let total = 0;
    for (const b of this.owned) total += this.root.live.get(b)?.size ?? 0;
    return total;
  }

  liveBytesByPurpose(): ByPurpose {
    return { ...this.root.liveBy };
  }

  get peakBytes(): number {
    return this.root.peakTotal;
  }

  /** The highest live bytes each purpose has reached. */
  peakBytesByPurpose(): ByPurpose {
    return { ...this.root.peakBy };
  }

  /** Starts a new peak measurement from the current live bytes. */
  resetPeak(): void {
    const r = this.root;
    r.peakTotal = r.liveTotal;
    for (const p of BUFFER_PURPOSES) r.peakBy[p] = r.liveBy[p];
  }

  /** Test hook: matching allocations fail as clw-gpu-oom (pass undefined to clear). */
  injectFailure(predicate: FailurePredicate | undefined): void {
    this.root.failure = predicate;
  }

  /** Validates a request and returns its size rounded to 4 bytes (what WebGPU copies need). */
  private checkRequest(purpose: BufferPurpose, size: number, label: string): number {
    const index = this.allocations++;
    if (!Number.isFinite(size) || size <= 0) {
      throw new ClawError('clw-bad-request', `buffer "${label}" has an invalid size ${size}`, { details: { purpose, size, label } });
    }
    const bytes = Math.ceil(size / 4) * 4;
    const injected = this.failure?.(purpose, bytes, label, index);
    if (injected) {
      throw this.oomError(purpose, bytes, label, injected === 'gpu' ? 'the GPU refused the buffer: out of memory (injected)' : 'injected failure', injected === 'gpu' ? 'gpu' : 'injected');
    }
    if (bytes > this.limits.maxBufferSize) {
      throw this.oomError(purpose, bytes, label, `larger than the device's maxBufferSize (${this.limits.maxBufferSize})`, 'limit');
    }
    if (this.liveTotal + bytes > this.budgetBytes) {
      throw this.oomError(purpose, bytes, label, `over the VRAM budget (${this.liveTotal} live + ${bytes} > ${this.budgetBytes})`, 'budget');
    }
    return bytes;
  }

  private track(buffer: GPUBuffer, purpose: BufferPurpose, bytes: number): void {
    this.live.set(buffer, { purpose, size: bytes });
    this.liveBy[purpose] += bytes;
    this.liveTotal += bytes;
    this.peakBy[purpose] = Math.max(this.peakBy[purpose], this.liveBy[purpose]);
    this.peakTotal = Math.max(this.peakTotal, this.liveTotal);
  }

  private oomError(purpose: BufferPurpose, size: number, label: string, why: string, refusedBy: Refusal, liveBytes = this.liveTotal): ClawError {
    return new ClawError('clw-gpu-oom', `could not allocate ${size} bytes for ${purpose} ("${label}"): ${why}`, {
      fix: 'Lower the VRAM budget use: fewer GPU layers, a shorter context, or a smaller model.',
      details: { purpose, size, label, liveBytes, budgetBytes: this.budgetBytes, refusedBy },
    });
  }
}
