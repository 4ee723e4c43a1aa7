// The GGUF layer's public API. Node-only file access lives in
// './source-node' and is imported from there directly.

export * from './types';
export { BytesSource, BlobSource, SourceCursor, DEFAULT_WINDOW_BYTES } from './source';
export {
  readGguf,
  type ReadGgufOptions,
  GGUF_MAGIC,
  DEFAULT_ALIGNMENT,
  MAX_STRING_BYTES,
  MAX_ARRAY_ELEMENTS,
  MAX_ARRAY_DEPTH,
  MAX_TENSOR_DIMS,
  isGgufValueType,
  minEncodedBytes,
} from './reader';
export { writeGguf, kv, arrayValue, type GgufWriteSpec, type GgufTensorSpec } from './writer';
export {
  metaEntry,
  hasMeta,
  metaString,
  optionalString,
  metaNumber,
  optionalNumber,
  metaBool,
  optionalBool,
  metaStringArray,
  optionalStringArray,
  metaNumberArray,
  optionalNumberArray,
  findTensor,
  requireTensor,
} from './metadata';
export { formatGgufDump, type DumpOptions } from './dump';
