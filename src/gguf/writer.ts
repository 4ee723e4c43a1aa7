// The GGUF writer, for test fixtures and synthetic models: metadata entries
// and tensors in, a GGUF v2/v3 file out. With `headerOnly` it lays tensor
// offsets out as if the data were there but stops at the data section, so a
// real-size (many GB) model can be planned from a few MiB of header.
//
// The `kv` builders make typed metadata entries so callers never hand-pick
// value type ids.

import { ClawError } from '../errors';
import { DEFAULT_ALIGNMENT, GGUF_MAGIC } from './reader';
import { GGML_TYPES, GgufValueType, type GgmlType, type GgufArray, type GgufMetadataEntry, type GgufValue } from './types';

export interface GgufTensorSpec {
  name: string;
  /** ggml order: shape[0] is the row length. */
  shape: number[];
  type: GgmlType;
  /** Exactly the tensor's byte size; zeros when absent. */
  data?: Uint8Array;
}

export interface GgufWriteSpec {
  version?: 2 | 3;
  /**
   * Layout alignment. Default: `general.alignment` from metadata if present,
   * else 32. The writer never adds a `general.alignment` entry itself.
   */
  alignment?: number;
  metadata: GgufMetadataEntry[];
  tensors: GgufTensorSpec[];
  /** Omit tensor data; the file ends where the data section starts. */
  headerOnly?: boolean;
}

const utf8 = new TextEncoder();

export function writeGguf(spec: GgufWriteSpec): Uint8Array<ArrayBuffer> {
  const version = spec.version ?? 3;
  const alignment = spec.alignment ?? alignmentFromMetadata(spec.metadata) ?? DEFAULT_ALIGNMENT;
  if (!Number.isSafeInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw badSpec(`alignment must be a positive power of two, got ${alignment}`);
  }

  const out = new ByteWriter();
  out.u32(GGUF_MAGIC);
  out.u32(version);
  out.u64(BigInt(spec.tensors.length));
  out.u64(BigInt(spec.metadata.length));
  for (const entry of spec.metadata) {
    out.string(entry.key);
    out.u32(entry.type);
    writeValue(out, entry.type, entry.value, entry.key);
  }

  let dataBytes = 0;
  const layout = spec.tensors.map((t) => {
    const byteSize = tensorByteSize(t);
    if (t.data && t.data.length !== byteSize) throw badSpec(`tensor "${t.name}": data has ${t.data.length} bytes, its shape and type need ${byteSize}`);
    const offset = dataBytes;
    dataBytes = alignUp(offset + byteSize, alignment);
    return { spec: t, offset };
  });
  for (const { spec: t, offset } of layout) {
    out.string(t.name);
    out.u32(t.shape.length);
    for (const dim of t.shape) out.u64(BigInt(dim));
    out.u32(t.type);
    out.u64(BigInt(offset));
  }

  const tensorDataOffset = alignUp(out.length, alignment);
  const total = tensorDataOffset + (spec.headerOnly ? 0 : dataBytes);
  if (!Number.isSafeInteger(total) || total > 2 ** 31) throw badSpec(`a ${total}-byte file is too large to build in memory; use headerOnly`);
  const file = new Uint8Array(total);
  file.set(out.bytes());
  if (!spec.headerOnly) {
    for (const { spec: t, offset } of layout) if (t.data) file.set(t.data, tensorDataOffset + offset);
  }
  return file;
}

function tensorByteSize(t: GgufTensorSpec): number {
  const info = GGML_TYPES.get(t.type);
  if (!info) throw badSpec(`tensor "${t.name}": unknown ggml type ${t.type}`);
  if (t.shape.length === 0 || t.shape.some((d) => !Number.isSafeInteger(d) || d <= 0)) {
    throw badSpec(`tensor "${t.name}": shape [${t.shape.join(', ')}] must be positive integers`);
  }
  const elements = t.shape.reduce((a, b) => a * b, 1);
  // Rounded up so fixtures with a deliberately bad row length still get a layout.
  return Math.ceil(elements / info.blockSize) * info.blockBytes;
}

function alignmentFromMetadata(metadata: GgufMetadataEntry[]): number | undefined {
  const v = metadata.find((e) => e.key === 'general.alignment')?.value;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}

function writeValue(out: ByteWriter, type: GgufValueType, value: GgufValue, key: string): void {
  const fail = (want: string) => badSpec(`metadata "${key}": a ${GgufValueType[type] ?? type} needs ${want}, got ${describe(value)}`);
  switch (type) {
    case GgufValueType.STRING:
      if (typeof value !== 'string') throw fail('a string');
      return out.string(value);
    case GgufValueType.BOOL:
      if (typeof value !== 'boolean') throw fail('a boolean');
      return out.u8(value ? 1 : 0);
    case GgufValueType.UINT64:
    case GgufValueType.INT64: {
      if (typeof value !== 'bigint' && !Number.isSafeInteger(value)) throw fail('a bigint or a safe integer');
      const big = BigInt(value as bigint | number);
      return type === GgufValueType.UINT64 ? out.u64(big) : out.i64(big);
    }
    case GgufValueType.ARRAY: {
      if (typeof value !== 'object' || value === null) throw fail('an array value ({ elementType, values })');
      const arr = value as GgufArray;
      out.u32(arr.elementType);
      out.u64(BigInt(arr.values.length));
      for (const v of arr.values) writeValue(out, arr.elementType, v, key);
      return;
    }
    default: {
      if (typeof value !== 'number') throw fail('a number');
      switch (type) {
        case GgufValueType.UINT8: return out.u8(value);
        case GgufValueType.INT8: return out.i8(value);
        case GgufValueType.UINT16: return out.u16(value);
        case GgufValueType.INT16: return out.i16(value);
        case GgufValueType.UINT32: return out.u32(value);
        case GgufValueType.INT32: return out.i32(value);
        case GgufValueType.FLOAT32: return out.f32(value);
        case GgufValueType.FLOAT64: return out.f64(value);
        default: throw badSpec(`metadata "${key}": unknown value type ${type}`);
      }
    }
  }
}

function describe(v: unknown): string {
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function badSpec(message: string): ClawError {
  return new ClawError('clw-bad-request', `writeGguf: ${message}`);
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** A growable little-endian byte buffer. */
class ByteWriter {
  private buf = new Uint8Array(4096);
  private view = new DataView(this.buf.buffer);
  length = 0;

  /** Makes room for n bytes and returns where they go. It may replace buf and view, so call it before touching them. */
  private reserve(n: number): number {
    if (this.length + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
      bigger.set(this.buf.subarray(0, this.length));
      this.buf = bigger;
      this.view = new DataView(bigger.buffer);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  u8(v: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, v);
  }
  i8(v: number): void {
    const at = this.reserve(1);
    this.view.setInt8(at, v);
  }
  u16(v: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, v, true);
  }
  i16(v: number): void {
    const at = this.reserve(2);
    this.view.setInt16(at, v, true);
  }
  u32(v: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, v, true);
  }
  i32(v: number): void {
    const at = this.reserve(4);
    this.view.setInt32(at, v, true);
  }
  f32(v: number): void {
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }
  f64(v: number): void {
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }
  u64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, v, true);
  }
  i64(v: bigint): void {
    const at = this.reserve(8);
    this.view.setBigInt64(at, v, true);
  }

  string(s: string): void {
    const bytes = utf8.encode(s);
    this.u64(BigInt(bytes.length));
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

// ---------------------------------------------------------------------------
// Typed metadata builders

function entry(key: string, type: GgufValueType, value: GgufValue): GgufMetadataEntry {
  return { key, type, value };
}

/** An array value, for nesting: `kv.arr('k', GgufValueType.ARRAY, [arrayValue(GgufValueType.INT32, [1, 2])])`. */
export function arrayValue(elementType: GgufValueType, values: GgufValue[]): GgufArray {
  return { elementType, values };
}

export const kv = {
  str: (key: string, value: string) => entry(key, GgufValueType.STRING, value),
  bool: (key: string, value: boolean) => entry(key, GgufValueType.BOOL, value),
  u8: (key: string, value: number) => entry(key, GgufValueType.UINT8, value),
  i8: (key: string, value: number) => entry(key, GgufValueType.INT8, value),
  u16: (key: string, value: number) => entry(key, GgufValueType.UINT16, value),
  i16: (key: string, value: number) => entry(key, GgufValueType.INT16, value),
  u32: (key: string, value: number) => entry(key, GgufValueType.UINT32, value),
  i32: (key: string, value: number) => entry(key, GgufValueType.INT32, value),
  f32: (key: string, value: number) => entry(key, GgufValueType.FLOAT32, value),
  f64: (key: string, value: number) => entry(key, GgufValueType.FLOAT64, value),
  /** 64-bit values are stored as bigint so they read back identical. */
  u64: (key: string, value: bigint | number) => entry(key, GgufValueType.UINT64, BigInt(value)),
  i64: (key: string, value: bigint | number) => entry(key, GgufValueType.INT64, BigInt(value)),
  arr: (key: string, elementType: GgufValueType, values: GgufValue[]) => entry(key, GgufValueType.ARRAY, arrayValue(elementType, values)),
  strArr: (key: string, values: string[]) => entry(key, GgufValueType.ARRAY, arrayValue(GgufValueType.STRING, values)),
  f32Arr: (key: string, values: number[]) => entry(key, GgufValueType.ARRAY, arrayValue(GgufValueType.FLOAT32, values)),
  i32Arr: (key: string, values: number[]) => entry(key, GgufValueType.ARRAY, arrayValue(GgufValueType.INT32, values)),
  u32Arr: (key: string, values: number[]) => entry(key, GgufValueType.ARRAY, arrayValue(GgufValueType.UINT32, values)),
};
