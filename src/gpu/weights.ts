// Weight upload: GGUF tensor bytes go to the GPU unchanged (the kernels read
// the block layout directly, so GPU bytes = file bytes rounded up to 4), split
// by rows into parts no larger than one storage binding may be.

import { ClawError } from '../errors';
import { GgmlType, ggmlTypeInfo, ggmlTypeName } from '../gguf/types';
import type { WeightMatrix, WeightPart } from './ops-api';
import { MAX_UNSETTLED, WEIGHT_USAGE, type GpuAllocator } from './allocator';
import type { GpuContext } from './device';
import { hasGpuDecoder } from './weight-pieces';


export interface UploadWeightOptions {
  /** Split into parts of at most this many bytes (tests; default: the binding limit). */
  maxPartBytes?: number;
}

/** Bytes of one row of `cols` elements of `type` (cols must be a whole number of blocks). */
export function weightRowBytes(type: GgmlType, cols: number): number {
  const info = ggmlTypeInfo(type);
  if (!info) throw new ClawError('clw-quant-unsupported', `unknown tensor type ${type}`, { details: { type } });
  return (cols / info.blockSize) * info.blockBytes;
}

/** Bytes uploadWeightFrom reads and writes at a time: a tensor bigger than that never sits whole in memory. */
export const UPLOAD_CHUNK_BYTES = 64 * 2 ** 20;

export async function uploadWeight(
  ctx: GpuContext,
  name: string,
  type: GgmlType,
  rows: number,
  cols: number,
  bytes: Uint8Array,
  allocator: GpuAllocator,
  options: UploadWeightOptions = {},
): Promise<WeightMatrix> {
  const matrix = placeWeight(ctx, name, type, rows, cols, bytes, allocator, options);
  return settled(allocator, matrix, matrix.parts.map((p) => p.buffer));
}

/**
 * uploadWeight without waiting for the GPU's answer (GpuAllocator.allocFilled):
 * the allocator's settle() says whether the parts were made.
 */
function placeWeight(ctx: GpuContext, name: string, type: GgmlType, rows: number, cols: number, bytes: Uint8Array, allocator: GpuAllocator, options: UploadWeightOptions): WeightMatrix {
  const rowBytes = checkMatrix(name, type, rows, cols);
  if (bytes.byteLength < rows * rowBytes) {
    throw new ClawError('clw-model-invalid', `tensor ${name}: ${bytes.byteLength} bytes given, ${rows * rowBytes} needed`, {
      details: { tensor: name, bytes: bytes.byteLength, needed: rows * rowBytes },
    });
  }
  const rowsPerPart = partRows(ctx, name, rowBytes, options);
  const parts: WeightPart[] = [];
  try {
    for (let firstRow = 0; firstRow < rows; firstRow += rowsPerPart) {
      const rowCount = Math.min(rowsPerPart, rows - firstRow);
      const rowsOf = bytes.subarray(firstRow * rowBytes, (firstRow + rowCount) * rowBytes);
      const buffer = allocator.allocFilled('weights', rowCount * rowBytes, WEIGHT_USAGE, partLabel(name, rows, rowsPerPart, firstRow, rowCount), (b) =>
        writeWordPadded(ctx.device, b, 0, rowsOf),
      );
      parts.push({ buffer, firstRow, rowCount });
    }
  } catch (e) {
    for (const p of parts) allocator.free(p.buffer);
    throw e;
  }
  return { name, type, rows, cols, parts };
}

/** `value` once the allocator's unsettled buffers are answered; `buffers` freed if that fails. */
async function settled<T>(allocator: GpuAllocator, value: T, buffers: GPUBuffer[]): Promise<T> {
  try {
    await allocator.settle();
  } catch (e) {
    for (const b of buffers) allocator.free(b);
    throw e;
  }
  return value;
}

/**
 * uploadWeight of a tensor read from `read(offset, length)` (bytes from the
 * tensor's start) in chunks of about UPLOAD_CHUNK_BYTES (chunkBytes: tests),
 * each written to its part as it arrives; `onBytes` is told the bytes done
 * so far.
 */
export async function uploadWeightFrom(
  ctx: GpuContext,
  name: string,
  type: GgmlType,
  rows: number,
  cols: number,
  read: (offset: number, length: number) => Promise<Uint8Array>,
  allocator: GpuAllocator,
  options: UploadWeightOptions & { onBytes?: (done: number) => void; chunkBytes?: number } = {},
): Promise<WeightMatrix> {
  const rowBytes = checkMatrix(name, type, rows, cols);
  // Whole multiples of 4 rows, so that every chunk starts at a whole word of its part.
  const chunkRows = Math.max(4, Math.floor((options.chunkBytes ?? UPLOAD_CHUNK_BYTES) / rowBytes / 4) * 4);
  let done = 0;
  const readRows = async (first: number, count: number) => {
    const bytes = await read(first * rowBytes, count * rowBytes);
    if (bytes.byteLength < count * rowBytes) {
      throw new ClawError('clw-model-invalid', `tensor ${name}: rows ${first}..${first + count} are past the end of the file`, { details: { tensor: name } });
    }
    done += bytes.byteLength;
    options.onBytes?.(done);
    return bytes;
  };
  return uploadRows(ctx, name, type, rows, cols, chunkRows, readRows, allocator, options);
}

/** The row size of a matrix the GPU can decode; throws for a type or shape it cannot. */
function checkMatrix(name: string, type: GgmlType, rows: number, cols: number): number {
  const info = ggmlTypeInfo(type);
  if (!info || !hasGpuDecoder(type)) {
    throw new ClawError('clw-quant-unsupported', `tensor ${name} has type ${ggmlTypeName(type)}, which the GPU path cannot run`, {
      details: { tensor: name, type, typeName: ggmlTypeName(type) },
    });
  }
  // Kernels decode 4 elements at a time; every GGUF block type has 4 | blockSize.
  if (!(rows > 0 && cols > 0 && cols % info.blockSize === 0 && cols % 4 === 0)) {
    throw new ClawError('clw-model-invalid', `tensor ${name}: shape ${cols} x ${rows} does not fit ${info.name} blocks of ${info.blockSize}`, {
      details: { tensor: name, rows, cols, type: info.name },
    });
  }
  return weightRowBytes(type, cols);
}

/** Parts of at most a binding each, filled `chunkRows` rows at a time (a multiple of 4 rows, or all of them) from `read`. */
async function uploadRows(
  ctx: GpuContext,
  name: string,
  type: GgmlType,
  rows: number,
  cols: number,
  chunkRows: number,
  read: (firstRow: number, rowCount: number) => Promise<Uint8Array>,
  allocator: GpuAllocator,
  options: UploadWeightOptions,
): Promise<WeightMatrix> {
  const rowBytes = weightRowBytes(type, cols);
  const rowsPerPart = partRows(ctx, name, rowBytes, options);
  const parts: WeightPart[] = [];
  try {
    for (let firstRow = 0; firstRow < rows; firstRow += rowsPerPart) {
      const rowCount = Math.min(rowsPerPart, rows - firstRow);
      const buffer = await allocator.alloc('weights', rowCount * rowBytes, WEIGHT_USAGE, partLabel(name, rows, rowsPerPart, firstRow, rowCount));
      parts.push({ buffer, firstRow, rowCount });
      for (let r = 0; r < rowCount; r += chunkRows) {
        const n = Math.min(chunkRows, rowCount - r);
        writeWordPadded(ctx.device, buffer, r * rowBytes, await read(firstRow + r, n));
      }
    }
  } catch (e) {
    for (const p of parts) allocator.free(p.buffer);
    throw e;
  }
  return { name, type, rows, cols, parts };
}

/** Rows per part: as many as one storage binding holds. */
function partRows(ctx: GpuContext, name: string, rowBytes: number, options: UploadWeightOptions): number {
  const maxPartBytes = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize, options.maxPartBytes ?? Infinity);
  // Keep 4 bytes of slack: a part's size is rounded up to whole words.
  const rowsPerPart = Math.floor((maxPartBytes - 4) / rowBytes);
  if (rowsPerPart < 1) {
    throw new ClawError('clw-feature-missing', `tensor ${name}: one row (${rowBytes} bytes) exceeds the GPU's storage binding limit`, {
      details: { tensor: name, rowBytes, maxPartBytes },
    });
  }
  return rowsPerPart;
}

function partLabel(name: string, rows: number, rowsPerPart: number, firstRow: number, rowCount: number): string {
  return rows > rowsPerPart ? `${name} [rows ${firstRow}..${firstRow + rowCount})` : name;
}

/** An f32 vector (norm weights, biases, rope frequency factors). */
export async function uploadF32(ctx: GpuContext, name: string, values: Float32Array, allocator: GpuAllocator): Promise<GPUBuffer> {
  const buffer = placeF32(ctx, name, values, allocator);
  return settled(allocator, buffer, [buffer]);
}

/** uploadF32 without waiting for the GPU's answer (see placeWeight). */
function placeF32(ctx: GpuContext, name: string, values: Float32Array, allocator: GpuAllocator): GPUBuffer {
  return allocator.allocFilled('weights', Math.max(4, values.byteLength), WEIGHT_USAGE, name, (b) =>
    writeWordPadded(ctx.device, b, 0, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
  );
}

/** queue.writeBuffer wants a multiple of 4 bytes (at a multiple of 4); a ragged tail goes through a small padded copy. */
function writeWordPadded(device: GPUDevice, buffer: GPUBuffer, at: number, bytes: Uint8Array): void {
  const whole = bytes.byteLength & ~3;
  if (whole > 0) device.queue.writeBuffer(buffer, at, bytes.buffer, bytes.byteOffset, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    device.queue.writeBuffer(buffer, at + whole, tail);
  }
}

/**
 * The weight-upload interface src/model uses, over one context and
 * allocator. Uploads do not wait for the GPU's answer one by one: every
 * MAX_UNSETTLED buffers, and at settle(), which the loader calls before the
 * weights are used, a refused one throws clw-gpu-oom.
 */
export function createWeightUploader(ctx: GpuContext, allocator: GpuAllocator = ctx.allocator) {
  const settleEvery = async <T>(value: T): Promise<T> => {
    if (allocator.unsettled >= MAX_UNSETTLED) await allocator.settle();
    return value;
  };
  return {
    matrix: (name: string, type: GgmlType, rows: number, cols: number, bytes: Uint8Array) => settleEvery(placeWeight(ctx, name, type, rows, cols, bytes, allocator, {})),
    vector: (name: string, values: Float32Array) => settleEvery(placeF32(ctx, name, values, allocator)),
    settle: () => allocator.settle(),
  };
}
