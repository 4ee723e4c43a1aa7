// Builds in-memory GGUF records holding only tokenizer metadata, for the
// tokenizer unit tests: a hand-made vocabulary small enough to reason about.

import { GgufValueType, type GgufFile, type GgufMetadataEntry, type GgufValue } from '../../src/gguf/types';

export type MetadataValue = string | number | boolean | string[] | number[];

export interface VocabEntry {
  text: string;
  score?: number;
  /** llama.cpp token type: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte. */
  type?: number;
}

function toEntry(key: string, v: MetadataValue): GgufMetadataEntry {
  if (Array.isArray(v)) {
    const strings = v.length > 0 && typeof v[0] === 'string';
    const elementType = strings ? GgufValueType.STRING : key.endsWith('token_type') ? GgufValueType.INT32 : GgufValueType.FLOAT32;
    return { key, type: GgufValueType.ARRAY, value: { elementType, values: v as GgufValue[] } };
  }
  const type =
    typeof v === 'string' ? GgufValueType.STRING : typeof v === 'boolean' ? GgufValueType.BOOL : Number.isInteger(v) ? GgufValueType.UINT32 : GgufValueType.FLOAT32;
  return { key, type, value: v };
}

export function ggufWithMetadata(metadata: Record<string, MetadataValue | undefined>): GgufFile {
  const map = new Map<string, GgufMetadataEntry>();
  for (const [k, v] of Object.entries(metadata)) if (v !== undefined) map.set(k, toEntry(k, v));
  return { version: 3, metadata: map, tensors: [], tensorDataOffset: 0, alignment: 32, fileSize: 0 };
}

/** `<unk>`, `<s>`, `</s>`, then 256 byte tokens (ids 3..258) when `byteTokens`, then `entries`. */
export function spmVocab(entries: VocabEntry[], options: { byteTokens?: boolean } = {}): VocabEntry[] {
  const base: VocabEntry[] = [
    { text: '<unk>', type: 2 },
    { text: '<s>', type: 3 },
    { text: '</s>', type: 3 },
  ];
  if (options.byteTokens ?? true) {
    for (let b = 0; b < 256; b++) base.push({ text: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, type: 6 });
  }
  return [...base, ...entries];
}

export function spmFile(vocab: VocabEntry[], extra: Record<string, MetadataValue | undefined> = {}): GgufFile {
  return ggufWithMetadata({
    'general.architecture': 'llama',
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': vocab.map((e) => e.text),
    'tokenizer.ggml.scores': vocab.map((e) => e.score ?? 0),
    'tokenizer.ggml.token_type': vocab.map((e) => e.type ?? 1),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    ...extra,
  });
}
