// The GGUF reader: header, metadata and tensor table, validated field by
// field, without reading tensor data. Layout (little-endian, v2 and v3):
//
//   magic "GGUF" | version u32 | tensor_count u64 | metadata_kv_count u64
//   metadata_kv_count x (key: string, type: u32, value)
//   tensor_count x (name: string, n_dims: u32, dims: u64[n_dims], type: u32, offset: u64)
//   padding to `general.alignment` | tensor data
//
// Strings are (length u64, bytes). Every length and count read from the file
// is checked against the bytes left BEFORE anything is allocated from it, and
// every malformed field throws modelInvalid(field, offset) naming where it
// starts, so a damaged download is reported, never a crash or a huge allocation.

import { ClawError, modelInvalid, toClawError } from '../errors';
import { SourceCursor } from './source';
import { ConcatSource, mergeSplitParts } from './split';
import {
  GGML_TYPES,
  GgufValueType,
  type ByteSource,
  type GgmlType,
  type GgufArray,
  type GgufFile,
  type GgufMetadataEntry,
  type GgufScalar,
  type GgufTensorInfo,
  type GgufValue,
} from './types';

export interface ReadGgufOptions {
  /** Skip the checks that need tensor data to be present (for header-only fixtures and partial downloads). */
  headerOnly?: boolean;
  /** Bytes fetched per source read while walking the header (default 1 MiB). */
  windowBytes?: number;
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const DEFAULT_ALIGNMENT = 32;
/** Longest string accepted (chat templates are the longest real ones, a few KiB). */
export const MAX_STRING_BYTES = 16 << 20;
/** Most elements in one metadata array (real vocabularies and merge lists stay below 1M). */
export const MAX_ARRAY_ELEMENTS = 1 << 24;
/** Deepest array nesting accepted: 1 is a plain array, 2 an array of arrays. */
export const MAX_ARRAY_DEPTH = 4;
export const MAX_TENSOR_DIMS = 4;
const MAX_ALIGNMENT = 1 << 30;

const HEADER_BYTES = 24;
/** Smallest possible metadata entry: empty key (8) + type (4) + a one-byte value. */
const MIN_KV_BYTES = 8 + 4 + 1;
/** Smallest possible tensor info: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8). */
const MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Encoded size of fixed-size value types; strings and arrays are absent. */
const FIXED_VALUE_BYTES: Partial<Record<GgufValueType, number>> = {
  [GgufValueType.UINT8]: 1,
  [GgufValueType.INT8]: 1,
  [GgufValueType.BOOL]: 1,
  [GgufValueType.UINT16]: 2,
  [GgufValueType.INT16]: 2,
  [GgufValueType.UINT32]: 4,
  [GgufValueType.INT32]: 4,
  [GgufValueType.FLOAT32]: 4,
  [GgufValueType.UINT64]: 8,
  [GgufValueType.INT64]: 8,
  [GgufValueType.FLOAT64]: 8,
};

/** The fewest bytes one value of `type` can take: what a declared count is checked against. */
export function minEncodedBytes(type: GgufValueType): number {
  if (type === GgufValueType.STRING) return 8;
  if (type === GgufValueType.ARRAY) return 12;
  return FIXED_VALUE_BYTES[type] ?? 1;
}

export function isGgufValueType(type: number): type is GgufValueType {
  return Number.isInteger(type) && type >= GgufValueType.UINT8 && type <= GgufValueType.FLOAT64;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8', { fatal: false });

/** Reads and validates a GGUF file's header and tensor table. Throws only ClawError. */
export async function readGguf(source: ByteSource, options: ReadGgufOptions = {}): Promise<GgufFile> {
  try {
    if (source instanceof ConcatSource) {
      // A split model: each part's header on its own, then one file over the concatenation.
      const parts = await Promise.all(source.parts.map((part) => parse(new SourceCursor(part, options.windowBytes), options)));
      return mergeSplitParts(parts, source.starts, source.size);
    }
    return await parse(new SourceCursor(source, options.windowBytes), options);
  } catch (e) {
    throw e instanceof ClawError ? e : toClawError(e);
  }
}

async function parse(c: SourceCursor, options: ReadGgufOptions): Promise<GgufFile> {
  const fileSize = c.source.size;
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw modelInvalid('file', 0, `impossible size ${fileSize}`);
  const { version, tensorCount, kvCount } = await readHeader(c);

  const metadata = new Map<string, GgufMetadataEntry>();
  let alignmentOffset = -1;
  for (let i = 0; i < kvCount; i++) {
    const keyField = `metadata[${i}].key`;
    const keyStart = c.pos;
    const key = await readString(c, keyField, true);
    if (key.length === 0) throw modelInvalid(keyField, keyStart, 'empty key');
    if (metadata.has(key)) throw modelInvalid(keyField, keyStart, `duplicate key "${key}"`);
    const typeStart = c.pos;
    if (!c.has(4)) await c.fill(4, key);
    const type = c.u32();
    if (!isGgufValueType(type)) throw modelInvalid(key, typeStart, `unknown value type ${type}`);
    if (key === 'general.alignment') alignmentOffset = c.pos;
    const value = await readValue(c, type, key, 0);
    metadata.set(key, { key, type, value });
  }
  const alignment = alignmentOf(metadata, alignmentOffset);

  const raw: RawTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const t = await readTensorInfo(c, i, alignment);
    if (names.has(t.name)) throw modelInvalid(`tensors[${i}].name`, t.nameAt, `duplicate tensor name "${t.name}"`);
    names.add(t.name);
    raw.push(t);
  }

  const tensorDataOffset = alignUp(c.pos, alignment);
  const tensors = raw.map((t): GgufTensorInfo => ({
    name: t.name,
    shape: t.shape,
    type: t.type,
    offset: t.offset,
    fileOffset: tensorDataOffset + t.offset,
    elements: t.elements,
    byteSize: t.byteSize,
  }));
  if (!options.headerOnly) checkDataInsideFile(tensors, raw, fileSize);
  checkNoOverlap(tensors, raw);

  return { version, metadata, tensors, tensorDataOffset, alignment, fileSize };
}

async function readHeader(c: SourceCursor): Promise<{ version: 2 | 3; tensorCount: number; kvCount: number }> {
  await c.fill(4, 'magic');
  const magic = c.u32();
  if (magic !== GGUF_MAGIC) throw modelInvalid('magic', 0, `expected "GGUF", found ${describeMagic(magic)}`);
  await c.fill(4, 'version');
  const version = c.u32();
  if (version !== 2 && version !== 3) {
    const problem =
      version === 1
        ? 'GGUF version 1 is not supported (convert the model again with a current llama.cpp)'
        : version === 0x02000000 || version === 0x03000000
          ? 'big-endian GGUF files are not supported'
          : `unknown version ${version}`;
    throw modelInvalid('version', 4, problem, { version });
  }
  await c.fill(16, 'tensor_count');
  const tensorCount = c.u64();
  const kvCount = c.u64();
  // Each entry takes some bytes, so the counts are bounded by the file size;
  // checked here so no loop or allocation ever trusts them.
  const rest = BigInt(c.source.size - HEADER_BYTES);
  if (tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > rest) {
    throw modelInvalid('tensor_count', 8, `${tensorCount} tensors cannot fit in a ${c.source.size}-byte file`);
  }
  if (kvCount * BigInt(MIN_KV_BYTES) + tensorCount * BigInt(MIN_TENSOR_INFO_BYTES) > rest) {
    throw modelInvalid('metadata_kv_count', 16, `${kvCount} metadata entries and ${tensorCount} tensors cannot fit in a ${c.source.size}-byte file`);
  }
  return { version, tensorCount: Number(tensorCount), kvCount: Number(kvCount) };
}

function describeMagic(magic: number): string {
  const bytes = [0, 8, 16, 24].map((s) => (magic >>> s) & 0xff);
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

// ---------------------------------------------------------------------------
// Metadata values

async function readValue(c: SourceCursor, type: GgufValueType, field: string, depth: number): Promise<GgufValue> {
  if (type === GgufValueType.STRING) return readString(c, field, false);
  if (type === GgufValueType.ARRAY) return readArray(c, field, depth + 1);
  const size = FIXED_VALUE_BYTES[type]!;
  if (!c.has(size)) await c.fill(size, field);
  return readFixed(c, type, field);
}

/** Reads a fixed-size value; the caller made sure its bytes are in the window. */
function readFixed(c: SourceCursor, type: GgufValueType, field: string): GgufScalar {
  switch (type) {
    case GgufValueType.UINT8: return c.u8();
    case GgufValueType.INT8: return c.i8();
    case GgufValueType.UINT16: return c.u16();
    case GgufValueType.INT16: return c.i16();
    case GgufValueType.UINT32: return c.u32();
    case GgufValueType.INT32: return c.i32();
    case GgufValueType.FLOAT32: return c.f32();
    case GgufValueType.FLOAT64: return c.f64();
    case GgufValueType.UINT64: return c.u64();
    case GgufValueType.INT64: return c.i64();
    case GgufValueType.BOOL: {
      const at = c.pos;
      const b = c.u8();
      if (b > 1) throw modelInvalid(field, at, `a bool must be 0 or 1, found ${b}`);
      return b === 1;
    }
    default:
      throw modelInvalid(field, c.pos, `value type ${type} is not a fixed-size type`);
  }
}

/** Checks a string's declared length against the limits and the bytes left after its length prefix. */
function checkStringLength(c: SourceCursor, length: bigint, field: string, start: number): number {
  const left = c.source.size - (start + 8);
  if (length > BigInt(left)) throw modelInvalid(field, start, `string of ${length} bytes runs past the end of the file (${left} bytes left)`);
  if (length > BigInt(MAX_STRING_BYTES)) throw modelInvalid(field, start, `string of ${length} bytes is longer than the ${MAX_STRING_BYTES}-byte limit`);
  return Number(length);
}

function decodeString(bytes: Uint8Array, strict: boolean, field: string, start: number): string {
  if (!strict) return lenientUtf8.decode(bytes);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw modelInvalid(field, start, 'not valid UTF-8');
  }
}

/** `strict`: names and keys must be valid UTF-8; values may carry replacement characters. */
async function readString(c: SourceCursor, field: string, strict: boolean): Promise<string> {
  const fast = tryReadStringInWindow(c, field, strict);
  if (fast !== undefined) return fast;
  const start = c.pos;
  await c.fill(8, field);
  const length = checkStringLength(c, c.u64(), field, start);
  await c.fill(length, field, start);
  return decodeString(c.bytes(length), strict, field, start);
}

/** The common case without an await: the whole string is already in the window. */
function tryReadStringInWindow(c: SourceCursor, field: string, strict: boolean): string | undefined {
  if (!c.has(8)) return undefined;
  const start = c.pos;
  const length = checkStringLength(c, c.peekU64(), field, start);
  if (!c.has(8 + length)) return undefined;
  c.pos += 8;
  return decodeString(c.bytes(length), strict, field, start);
}

async function readArray(c: SourceCursor, field: string, depth: number): Promise<GgufArray> {
  const start = c.pos;
  await c.fill(12, field);
  const elementType = c.u32();
  if (!isGgufValueType(elementType)) throw modelInvalid(field, start, `unknown array element type ${elementType}`);
  if (elementType === GgufValueType.ARRAY && depth >= MAX_ARRAY_DEPTH) {
    throw modelInvalid(field, start, `arrays nested deeper than ${MAX_ARRAY_DEPTH} levels`);
  }
  const declared = c.u64();
  const left = c.source.size - c.pos;
  if (declared > BigInt(MAX_ARRAY_ELEMENTS)) {
    throw modelInvalid(field, start + 4, `array of ${declared} elements is longer than the ${MAX_ARRAY_ELEMENTS}-element limit`);
  }
  if (declared * BigInt(minEncodedBytes(elementType)) > BigInt(left)) {
    throw modelInvalid(field, start + 4, `array of ${declared} elements runs past the end of the file (${left} bytes left)`);
  }
  const count = Number(declared);
  const values: GgufValue[] = [];
  const fixed = FIXED_VALUE_BYTES[elementType];
  for (let i = 0; i < count; i++) {
    if (fixed !== undefined) {
      if (!c.has(fixed)) await c.fill(fixed, field);
      values.push(readFixed(c, elementType, field));
    } else if (elementType === GgufValueType.STRING) {
      values.push(tryReadStringInWindow(c, field, false) ?? (await readString(c, field, false)));
    } else {
      values.push(await readArray(c, field, depth + 1));
    }
  }
  return { elementType, values };
}

const INTEGER_TYPES: ReadonlySet<GgufValueType> = new Set([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
]);

/** llama.cpp writes general.alignment as a u32; any integer type is accepted, floats and strings are not. */
function alignmentOf(metadata: Map<string, GgufMetadataEntry>, valueOffset: number): number {
  const entry = metadata.get('general.alignment');
  if (!entry) return DEFAULT_ALIGNMENT;
  const v = entry.value;
  const n = typeof v === 'bigint' ? (v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : NaN) : v;
  if (typeof n !== 'number' || !INTEGER_TYPES.has(entry.type) || !Number.isInteger(n)) {
    throw modelInvalid('general.alignment', valueOffset, `must be an integer, found a ${GgufValueType[entry.type]}`);
  }
  if (n <= 0 || n > MAX_ALIGNMENT || (n & (n - 1)) !== 0) {
    throw modelInvalid('general.alignment', valueOffset, `must be a power of two between 1 and ${MAX_ALIGNMENT}, found ${n}`);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Tensor table

interface RawTensor {
  name: string;
  shape: number[];
  type: GgmlType;
  offset: number;
  elements: number;
  byteSize: number;
  /** Where the name and the offset fields start, for errors found later. */
  nameAt: number;
  offsetAt: number;
}

async function readTensorInfo(c: SourceCursor, index: number, alignment: number): Promise<RawTensor> {
  const p = `tensors[${index}]`;
  const nameAt = c.pos;
  const name = await readString(c, `${p}.name`, true);

  const nDimsAt = c.pos;
  await c.fill(4, `${p}.n_dims`);
  const nDims = c.u32();
  if (nDims === 0 || nDims > MAX_TENSOR_DIMS) throw modelInvalid(`${p}.n_dims`, nDimsAt, `must be 1..${MAX_TENSOR_DIMS}, found ${nDims}`);

  const shapeAt = c.pos;
  await c.fill(8 * nDims, `${p}.shape`);
  const shape: number[] = [];
  let elements = 1;
  for (let d = 0; d < nDims; d++) {
    const dimAt = c.pos;
    const dim = c.u64();
    if (dim === 0n) throw modelInvalid(`${p}.shape`, dimAt, `dimension ${d} is 0`);
    if (dim * BigInt(elements) > MAX_SAFE) throw modelInvalid(`${p}.shape`, dimAt, `dimension ${d} (${dim}) makes the element count absurd`);
    shape.push(Number(dim));
    elements *= Number(dim);
  }

  const typeAt = c.pos;
  await c.fill(4, `${p}.type`);
  const type = c.u32();
  const info = GGML_TYPES.get(type);
  if (!info) throw modelInvalid(`${p}.type`, typeAt, `unknown ggml type ${type}`);
  if (shape[0] % info.blockSize !== 0) {
    throw modelInvalid(`${p}.shape`, shapeAt, `row length ${shape[0]} is not a multiple of the ${info.name} block size ${info.blockSize}`);
  }
  const byteSize = (elements / info.blockSize) * info.blockBytes;
  if (!Number.isSafeInteger(byteSize)) throw modelInvalid(`${p}.shape`, shapeAt, `${elements} ${info.name} elements make the byte size absurd`);

  const offsetAt = c.pos;
  await c.fill(8, `${p}.offset`);
  const rawOffset = c.u64();
  if (rawOffset > MAX_SAFE) throw modelInvalid(`${p}.offset`, offsetAt, `offset ${rawOffset} is absurd`);
  const offset = Number(rawOffset);
  if (offset % alignment !== 0) throw modelInvalid(`${p}.offset`, offsetAt, `offset ${offset} is not a multiple of the alignment ${alignment}`);

  return { name, shape, type, offset, elements, byteSize, nameAt, offsetAt };
}

function checkDataInsideFile(tensors: GgufTensorInfo[], raw: RawTensor[], fileSize: number): void {
  tensors.forEach((t, i) => {
    const end = t.fileOffset + t.byteSize;
    if (end > fileSize) {
      throw modelInvalid(`tensors[${i}].offset`, raw[i].offsetAt, `data of "${t.name}" ends at byte ${end}, past the end of the file (${fileSize} bytes)`, {
        tensor: t.name,
      });
    }
  });
}

function checkNoOverlap(tensors: GgufTensorInfo[], raw: RawTensor[]): void {
  const order = tensors.map((_, i) => i).sort((a, b) => tensors[a].offset - tensors[b].offset);
  for (let k = 1; k < order.length; k++) {
    const prev = tensors[order[k - 1]];
    const i = order[k];
    const t = tensors[i];
    if (t.offset < prev.offset + prev.byteSize) {
      throw modelInvalid(`tensors[${i}].offset`, raw[i].offsetAt, `data of "${t.name}" overlaps "${prev.name}"`, { tensor: t.name, other: prev.name });
    }
  }
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
