// Layers that do not fit the VRAM budget still run: their matrices live in
// CPU memory (or stay in the file) and are written, before each forward pass
// reaches them, into one set of reusable GPU buffers ("slots", one per kind
// of matrix, e.g. attn_q, sized for the largest streamed one). Queue order
// makes a single set safe: a writeBuffer issued after a submit runs after
// that submit's commands, so layer l+1's weights never overwrite layer l's
// while it runs.
//
// It works as a wrapper around the weight uploader the loader already uses:
// tensors of resident layers (and every small vector, norms and biases, which
// cost next to nothing) upload as usual; matrices of streamed layers are
// recorded and get a WeightMatrix whose parts point at the shared slots once
// the load is over. So the loader, and every architecture it knows, needs no
// change.

import { ClawError } from '../errors';
import type { ByteSource, GgmlType, GgufFile } from '../gguf/types';
import { WEIGHT_USAGE, type GpuAllocator } from '../gpu/allocator';
import type { WeightMatrix, WeightPart } from '../gpu/ops-api';
import { weightRowBytes } from '../gpu/weights';
import type { WeightUploader } from './weights';

const LAYER_TENSOR = /^blk\.(\d+)\.(.+)$/;

/** Where a streamed matrix's bytes come from on each pass. */
type StreamedBytes = { kind: 'memory'; bytes: Uint8Array } | { kind: 'file'; offset: number; length: number };

interface StreamedMatrix {
  layer: number;
  /** The tensor's name without its blk.N. prefix: which slot it uses. */
  role: string;
  matrix: { name: string; type: GgmlType; rows: number; cols: number; parts: WeightPart[] };
  rowBytes: number;
  rowsPerPart: number;
  source: StreamedBytes;
}

export interface StreamingOptions {
  /** Layers 0..residentLayers-1 stay on the GPU; the others stream. */
  residentLayers: number;
  /** Largest part a matrix binding may have (the device's storage binding limit). */
  maxPartBytes: number;
  /** Streamed bytes kept in CPU memory; beyond this they are read from the source on every pass. Default: unlimited. */
  cpuCacheBytes?: number;
}

const GiB = 1024 ** 3;

/**
 * CPU memory streamed weights may keep: a quarter of the device's memory
 * where the browser tells it (navigator.deviceMemory, in GB, capped at 8),
 * at most 2 GiB; 1 GiB when it does not. Beyond it, streamed layers are read
 * from the file (Blob) on every pass: slower, but the tab survives.
 */
export function defaultStreamCacheBytes(): number {
  const gb = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
  if (typeof gb === 'number' && gb > 0) return Math.min(2 * GiB, (gb * GiB) / 4);
  return GiB;
}

export class LayerStreamer {
  private readonly streamed: StreamedMatrix[] = [];
  private readonly byLayer = new Map<number, StreamedMatrix[]>();
  private readonly slots = new Map<string, GPUBuffer[]>();
  private cachedBytes = 0;
  /** Streamed layer uploads done (for tests and stats). */
  uploads = 0;
  /** Bytes written into the slots so far. */
  streamedBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly allocator: GpuAllocator,
    private readonly file: GgufFile,
    private readonly source: ByteSource,
    readonly options: StreamingOptions,
  ) {}

  isStreamed(layer: number): boolean {
    return layer >= this.options.residentLayers;
  }

  get hasStreamedLayers(): boolean {
    return this.streamed.length > 0;
  }

  /** The uploader the weight loader should use: uploads resident tensors through `inner`, records streamed matrices. */
  wrap(inner: WeightUploader): WeightUploader {
    return {
      vector: (name, values) => inner.vector(name, values),
      settle: () => inner.settle(),
      matrix: async (name, type, rows, cols, bytes) => {
        const m = LAYER_TENSOR.exec(name);
        const layer = m ? Number(m[1]) : -1;
        if (layer < 0 || !this.isStreamed(layer)) return inner.matrix(name, type, rows, cols, bytes);
        return this.record(layer, m![2], name, type, rows, cols, bytes);
      },
    };
  }

  private record(layer: number, role: string, name: string, type: GgmlType, rows: number, cols: number, bytes: Uint8Array): WeightMatrix {
    const rowBytes = weightRowBytes(type, cols);
    const rowsPerPart = Math.floor((this.options.maxPartBytes - 4) / rowBytes);
    if (rowsPerPart < 1) {
      throw new ClawError('clw-feature-missing', `tensor ${name}: one row (${rowBytes} bytes) exceeds the GPU's storage binding limit`, { details: { tensor: name, rowBytes } });
    }
    const length = rows * rowBytes;
    if (bytes.byteLength < length) throw new ClawError('clw-model-invalid', `tensor ${name}: ${bytes.byteLength} bytes given, ${length} needed`, { details: { tensor: name } });
    const s: StreamedMatrix = { layer, role, matrix: { name, type, rows, cols, parts: [] }, rowBytes, rowsPerPart, source: this.keep(name, bytes.subarray(0, length)) };
    this.streamed.push(s);
    const list = this.byLayer.get(layer) ?? [];
    list.push(s);
    this.byLayer.set(layer, list);
    return s.matrix;
  }

  /** CPU copy while the cache allows; else the file range, when the bytes are exactly one tensor of the file. */
  private keep(name: string, bytes: Uint8Array): StreamedBytes {
    const limit = this.options.cpuCacheBytes ?? Infinity;
    const t = this.file.tensors.find((x) => x.name === name);
    const fromFile = t !== undefined && t.byteSize === bytes.byteLength;
    if (this.cachedBytes + bytes.byteLength <= limit || !fromFile) {
      this.cachedBytes += bytes.byteLength;
      return { kind: 'memory', bytes: bytes.slice() };
    }
    return { kind: 'file', offset: t.fileOffset, length: t.byteSize };
  }

  /** After the loader is done: one slot per role and part, sized for the largest streamed matrix of that role. */
  async allocateSlots(): Promise<void> {
    const sizes = new Map<string, number[]>();
    for (const s of this.streamed) {
      const parts = partLayout(s.matrix.rows, s.rowsPerPart);
      const list = sizes.get(s.role) ?? [];
      parts.forEach((p, i) => (list[i] = Math.max(list[i] ?? 0, p.rowCount * s.rowBytes)));
      sizes.set(s.role, list);
    }
    for (const [role, list] of sizes) {
      const buffers: GPUBuffer[] = [];
      this.slots.set(role, buffers);
      for (let i = 0; i < list.length; i++) buffers.push(await this.allocator.alloc('weights', list[i], WEIGHT_USAGE, `stream slot ${role}${list.length > 1 ? ` part ${i}` : ''}`));
    }
    for (const s of this.streamed) {
      const buffers = this.slots.get(s.role)!;
      partLayout(s.matrix.rows, s.rowsPerPart).forEach((p, i) => s.matrix.parts.push({ buffer: buffers[i], firstRow: p.firstRow, rowCount: p.rowCount }));
    }
  }

  /** Bytes of the slot buffers (what streaming costs on the GPU). */
  slotBytes(): number {
    let total = 0;
    for (const list of this.slots.values()) for (const b of list) total += b.size;
    return total;
  }

  /**
   * Writes layer `layer`'s matrices into the slots. Call after submitting
   * the previous layer's commands and before submitting this layer's.
   */
  async upload(layer: number): Promise<void> {
    for (const s of this.byLayer.get(layer) ?? []) {
      const bytes = s.source.kind === 'memory' ? s.source.bytes : await this.source.read(s.source.offset, s.source.length);
      for (const part of s.matrix.parts) {
        writeWordPadded(this.device, part.buffer, bytes.subarray(part.firstRow * s.rowBytes, (part.firstRow + part.rowCount) * s.rowBytes));
      }
      this.streamedBytes += bytes.byteLength;
    }
    this.uploads++;
  }
}

function partLayout(rows: number, rowsPerPart: number): { firstRow: number; rowCount: number }[] {
  const parts: { firstRow: number; rowCount: number }[] = [];
  for (let firstRow = 0; firstRow < rows; firstRow += rowsPerPart) parts.push({ firstRow, rowCount: Math.min(rowsPerPart, rows - firstRow) });
  return parts;
}

/** queue.writeBuffer wants whole words; a ragged tail goes through a small padded copy. */
function writeWordPadded(device: GPUDevice, buffer: GPUBuffer, bytes: Uint8Array): void {
  const whole = bytes.byteLength & ~3;
  if (whole > 0) device.queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    device.queue.writeBuffer(buffer, whole, tail);
  }
}
