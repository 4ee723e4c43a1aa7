// The GGML tensor type table and the typed records the GGUF reader returns.
// This is the one place that knows every type's id, block size and block
// bytes; the CPU quant code, the WGSL decoders and the planner all key on it.

export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
}

export interface GgmlTypeInfo {
  readonly type: GgmlType;
  readonly name: string;
  /** Elements per block. */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly blockBytes: number;
  /** Whether WebClaw can run tensors of this type on the GPU (see src/quant and shaders/). */
  readonly gpuSupported: boolean;
}

function t(type: GgmlType, blockSize: number, blockBytes: number, gpuSupported: boolean): GgmlTypeInfo {
  return { type, name: GgmlType[type], blockSize, blockBytes, gpuSupported };
}

/**
 * Every type a GGUF file may name. `gpuSupported` flips to true as a type
 * gains a CPU reference, a WGSL decoder and a conformance test.
 */
export const GGML_TYPES: ReadonlyMap<GgmlType, GgmlTypeInfo> = new Map(
  [
    t(GgmlType.F32, 1, 4, true),
    t(GgmlType.F16, 1, 2, true),
    t(GgmlType.Q4_0, 32, 18, true),
    t(GgmlType.Q4_1, 32, 20, true),
    t(GgmlType.Q5_0, 32, 22, true),
    t(GgmlType.Q5_1, 32, 24, true),
    t(GgmlType.Q8_0, 32, 34, true),
    t(GgmlType.Q8_1, 32, 36, false),
    t(GgmlType.Q2_K, 256, 84, true),
    t(GgmlType.Q3_K, 256, 110, true),
    t(GgmlType.Q4_K, 256, 144, true),
    t(GgmlType.Q5_K, 256, 176, true),
    t(GgmlType.Q6_K, 256, 210, true),
    t(GgmlType.Q8_K, 256, 292, false),
    t(GgmlType.IQ2_XXS, 256, 66, true),
    t(GgmlType.IQ2_XS, 256, 74, true),
    t(GgmlType.IQ3_XXS, 256, 98, true),
    t(GgmlType.IQ1_S, 256, 50, true),
    t(GgmlType.IQ4_NL, 32, 18, true),
    t(GgmlType.IQ3_S, 256, 110, true),
    t(GgmlType.IQ2_S, 256, 82, true),
    t(GgmlType.IQ4_XS, 256, 136, true),
    t(GgmlType.I8, 1, 1, false),
    t(GgmlType.I16, 1, 2, false),
    t(GgmlType.I32, 1, 4, false),
    t(GgmlType.I64, 1, 8, false),
    t(GgmlType.F64, 1, 8, false),
    t(GgmlType.IQ1_M, 256, 56, true),
    t(GgmlType.BF16, 1, 2, true),
    t(GgmlType.TQ1_0, 256, 54, true),
    t(GgmlType.TQ2_0, 256, 66, true),
    t(GgmlType.MXFP4, 32, 17, true),
    t(GgmlType.NVFP4, 64, 36, true),
  ].map((i) => [i.type, i]),
);

export function ggmlTypeInfo(type: GgmlType): GgmlTypeInfo | undefined {
  return GGML_TYPES.get(type);
}

export function ggmlTypeName(type: number): string {
  return GGML_TYPES.get(type)?.name ?? `unknown(${type})`;
}

/** Bytes of a tensor with `elements` elements of `type` (elements must be a multiple of the block size). */
export function tensorBytes(type: GgmlType, elements: number): number {
  const info = GGML_TYPES.get(type);
  if (!info) throw new Error(`unknown ggml type ${type}`);
  return (elements / info.blockSize) * info.blockBytes;
}

// ---------------------------------------------------------------------------
// GGUF metadata

export enum GgufValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/**
 * A metadata value. 64-bit integers are `bigint`; all other numbers are
 * `number`. Arrays keep their element type so the writer can round-trip them.
 */
export type GgufScalar = number | bigint | boolean | string;
export interface GgufArray {
  readonly elementType: GgufValueType;
  readonly values: GgufValue[];
}
export type GgufValue = GgufScalar | GgufArray;

export interface GgufMetadataEntry {
  readonly key: string;
  readonly type: GgufValueType;
  readonly value: GgufValue;
}

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: shape[0] is the innermost (row length) dimension. */
  readonly shape: readonly number[];
  readonly type: GgmlType;
  /** Offset relative to the start of the tensor data section. */
  readonly offset: number;
  /** Absolute byte offset in the file. */
  readonly fileOffset: number;
  readonly elements: number;
  readonly byteSize: number;
}

export interface GgufFile {
  readonly version: 2 | 3;
  readonly metadata: ReadonlyMap<string, GgufMetadataEntry>;
  readonly tensors: readonly GgufTensorInfo[];
  /** Absolute offset of the tensor data section (aligned). */
  readonly tensorDataOffset: number;
  readonly alignment: number;
  readonly fileSize: number;
}

/**
 * A random-access byte source: a Blob/File in the browser, a file handle in
 * Node, or bytes in memory. Reads never go past `size`.
 */
export interface ByteSource {
  readonly size: number;
  readonly name?: string;
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}
