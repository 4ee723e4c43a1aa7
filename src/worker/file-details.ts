// Every metadata key and the tensor table of a GGUF header, in a form that
// crosses to the page: values as display strings (64-bit integers exact),
// long arrays cut to their first ARRAY_SHOWN elements with the full count.
// The strings are untrusted file content; the page shows them as text.

import { GGML_TYPES, ggmlTypeName, GgufValueType, type GgufFile, type GgufValue } from '../gguf/types';

export interface MetadataRow {
  key: string;
  /** "string", "u32", "array[string]", ... */
  type: string;
  /** The value, or the first ARRAY_SHOWN elements of an array, each as display text. */
  values: string[];
  /** Elements in the array (1 for a scalar). */
  length: number;
}

export interface TensorRow {
  name: string;
  type: string;
  shape: number[];
  bytes: number;
  supported: boolean;
}

export interface FileDetails {
  version: number;
  metadata: MetadataRow[];
  tensors: TensorRow[];
}

/** Elements of an array sent to the page; a 150k-entry vocabulary stays behind. */
export const ARRAY_SHOWN = 1000;

const TYPE_NAMES: Record<GgufValueType, string> = {
  [GgufValueType.UINT8]: 'u8',
  [GgufValueType.INT8]: 'i8',
  [GgufValueType.UINT16]: 'u16',
  [GgufValueType.INT16]: 'i16',
  [GgufValueType.UINT32]: 'u32',
  [GgufValueType.INT32]: 'i32',
  [GgufValueType.FLOAT32]: 'f32',
  [GgufValueType.BOOL]: 'bool',
  [GgufValueType.STRING]: 'string',
  [GgufValueType.ARRAY]: 'array',
  [GgufValueType.UINT64]: 'u64',
  [GgufValueType.INT64]: 'i64',
  [GgufValueType.FLOAT64]: 'f64',
};

function scalarText(value: GgufValue): string {
  if (typeof value === 'object') return `[array of ${value.values.length}]`;
  return String(value);
}

export function fileDetails(file: GgufFile): FileDetails {
  const metadata = [...file.metadata.values()].map((entry): MetadataRow => {
    const v = entry.value;
    if (typeof v === 'object') {
      return {
        key: entry.key,
        type: `array[${TYPE_NAMES[v.elementType] ?? v.elementType}]`,
        values: v.values.slice(0, ARRAY_SHOWN).map(scalarText),
        length: v.values.length,
      };
    }
    return { key: entry.key, type: TYPE_NAMES[entry.type] ?? String(entry.type), values: [scalarText(v)], length: 1 };
  });
  const tensors = file.tensors.map((t) => ({
    name: t.name,
    type: ggmlTypeName(t.type),
    shape: [...t.shape],
    bytes: t.byteSize,
    supported: GGML_TYPES.get(t.type)?.gpuSupported ?? false,
  }));
  return { version: file.version, metadata, tensors };
}

/** "Q8_0 75%, F32 25%": tensor types by share of the tensor bytes, largest first. */
export function quantMix(tensors: readonly { type: string; bytes: number }[]): string {
  const byType = new Map<string, number>();
  let total = 0;
  for (const t of tensors) {
    byType.set(t.type, (byType.get(t.type) ?? 0) + t.bytes);
    total += t.bytes;
  }
  return [...byType.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([type, bytes]) => `${type} ${total > 0 ? Math.round((100 * bytes) / total) : 0}%`)
    .join(', ');
}
