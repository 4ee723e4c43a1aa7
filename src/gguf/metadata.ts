// Typed access to GGUF metadata for the rest of the engine (hyperparameters,
// tokenizer, chat template). A missing or wrongly typed key is a malformed
// model: the error names the key as its field. The reader does not keep
// per-entry offsets, so these errors carry offset 0.

import { modelInvalid } from '../errors';
import { GgufValueType, type GgufArray, type GgufFile, type GgufMetadataEntry, type GgufTensorInfo, type GgufValue } from './types';

function wrongType(key: string, expected: string, entry: GgufMetadataEntry) {
  return modelInvalid(key, 0, `expected ${expected}, found ${GgufValueType[entry.type] ?? entry.type}`, { key });
}

function missing(key: string) {
  return modelInvalid(key, 0, 'required metadata key is missing', { key });
}

/** The entry for `key`, or a clw-model-invalid error naming it. */
export function metaEntry(file: GgufFile, key: string): GgufMetadataEntry {
  const entry = file.metadata.get(key);
  if (!entry) throw missing(key);
  return entry;
}

export function hasMeta(file: GgufFile, key: string): boolean {
  return file.metadata.has(key);
}

export function optionalString(file: GgufFile, key: string): string | undefined {
  const entry = file.metadata.get(key);
  if (!entry) return undefined;
  if (typeof entry.value !== 'string') throw wrongType(key, 'a string', entry);
  return entry.value;
}

export function metaString(file: GgufFile, key: string): string {
  const v = optionalString(file, key);
  if (v === undefined) throw missing(key);
  return v;
}

/** Any numeric type; 64-bit integers must fit in a JS number exactly. */
function toNumber(key: string, entry: GgufMetadataEntry, v: GgufValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw modelInvalid(key, 0, `${v} is too large for this value`, { key });
    return n;
  }
  throw wrongType(key, 'a number', entry);
}

export function optionalNumber(file: GgufFile, key: string): number | undefined {
  const entry = file.metadata.get(key);
  return entry ? toNumber(key, entry, entry.value) : undefined;
}

/** A numeric value; `fallback` is used when the key is absent (never when it has the wrong type). */
export function metaNumber(file: GgufFile, key: string, fallback?: number): number {
  const v = optionalNumber(file, key);
  if (v !== undefined) return v;
  if (fallback !== undefined) return fallback;
  throw missing(key);
}

export function optionalBool(file: GgufFile, key: string): boolean | undefined {
  const entry = file.metadata.get(key);
  if (!entry) return undefined;
  if (typeof entry.value !== 'boolean') throw wrongType(key, 'a bool', entry);
  return entry.value;
}

export function metaBool(file: GgufFile, key: string, fallback?: boolean): boolean {
  const v = optionalBool(file, key);
  if (v !== undefined) return v;
  if (fallback !== undefined) return fallback;
  throw missing(key);
}

function arrayOf(file: GgufFile, key: string): { entry: GgufMetadataEntry; array: GgufArray } | undefined {
  const entry = file.metadata.get(key);
  if (!entry) return undefined;
  if (entry.type !== GgufValueType.ARRAY) throw wrongType(key, 'an array', entry);
  return { entry, array: entry.value as GgufArray };
}

export function optionalStringArray(file: GgufFile, key: string): string[] | undefined {
  const found = arrayOf(file, key);
  if (!found) return undefined;
  if (found.array.elementType !== GgufValueType.STRING) {
    throw modelInvalid(key, 0, `expected an array of strings, found an array of ${GgufValueType[found.array.elementType]}`, { key });
  }
  return found.array.values as string[];
}

export function metaStringArray(file: GgufFile, key: string): string[] {
  const v = optionalStringArray(file, key);
  if (v === undefined) throw missing(key);
  return v;
}

/** Arrays of any numeric element type, as numbers. */
export function optionalNumberArray(file: GgufFile, key: string): number[] | undefined {
  const found = arrayOf(file, key);
  if (!found) return undefined;
  const t = found.array.elementType;
  if (t === GgufValueType.STRING || t === GgufValueType.ARRAY || t === GgufValueType.BOOL) {
    throw modelInvalid(key, 0, `expected an array of numbers, found an array of ${GgufValueType[t]}`, { key });
  }
  return found.array.values.map((v) => toNumber(key, found.entry, v));
}

export function metaNumberArray(file: GgufFile, key: string): number[] {
  const v = optionalNumberArray(file, key);
  if (v === undefined) throw missing(key);
  return v;
}

export function findTensor(file: GgufFile, name: string): GgufTensorInfo | undefined {
  return file.tensors.find((t) => t.name === name);
}

/** A tensor the model cannot run without; its absence is a malformed model. */
export function requireTensor(file: GgufFile, name: string): GgufTensorInfo {
  const t = findTensor(file, name);
  if (!t) throw modelInvalid(name, 0, 'required tensor is missing', { tensor: name });
  return t;
}
