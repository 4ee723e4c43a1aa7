// Split GGUF models (llama.cpp's gguf-split: name-00001-of-00003.gguf, ...).
// Each part is a whole GGUF file with its own header: the first carries the
// model's metadata, every part carries some of the tensors and says which
// part it is (split.no, from 0) of how many (split.count). ConcatSource lays
// the parts end to end as one byte source, and mergeSplitParts turns their
// headers into one GgufFile whose tensor offsets point into that
// concatenation, so everything after the reader sees a single file.

import { ClawError, modelInvalid } from '../errors';
import { checkReadRange } from './source';
import type { ByteSource, GgufFile, GgufTensorInfo } from './types';

/** Several sources read as one, in order. */
export class ConcatSource implements ByteSource {
  readonly size: number;
  /** Where each part starts in the concatenation. */
  readonly starts: readonly number[];

  constructor(
    readonly parts: readonly ByteSource[],
    readonly name?: string,
  ) {
    if (parts.length === 0) throw new ClawError('clw-bad-request', 'a split model needs at least one part');
    const starts: number[] = [];
    let at = 0;
    for (const p of parts) {
      starts.push(at);
      at += p.size;
    }
    this.starts = starts;
    this.size = at;
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this.size, offset, length);
    let i = this.partAt(offset);
    const first = await this.parts[i].read(offset - this.starts[i], Math.min(length, this.parts[i].size - (offset - this.starts[i])));
    if (first.length === length) return first;
    // A range across part boundaries (never a tensor: each lies inside its part).
    const out = new Uint8Array(length);
    out.set(first);
    let filled = first.length;
    while (filled < length) {
      i++;
      const piece = await this.parts[i].read(0, Math.min(length - filled, this.parts[i].size));
      out.set(piece, filled);
      filled += piece.length;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.close?.()));
  }

  private partAt(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty parts that start at the same offset.
    while (lo < this.parts.length - 1 && offset - this.starts[lo] >= this.parts[lo].size) lo++;
    return lo;
  }
}

const SPLIT_NAME = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** "model-00002-of-00003.gguf" -> { base: "model", index: 2, count: 3 }; other names -> undefined. */
export function splitPartOf(fileName: string): { base: string; index: number; count: number } | undefined {
  const m = SPLIT_NAME.exec(fileName);
  if (!m) return undefined;
  const index = Number(m[2]);
  const count = Number(m[3]);
  return index >= 1 && index <= count ? { base: m[1], index, count } : undefined;
}

/**
 * The files of one split model in part order, or a clw-model-invalid error
 * that names the parts missing (or the file that does not belong).
 */
export function orderSplitParts<T extends { name: string }>(files: readonly T[]): { base: string; parts: T[] } {
  const parsed = files.map((f) => ({ file: f, part: splitPartOf(f.name) }));
  const stray = parsed.find((p) => !p.part);
  if (stray) throw splitError(`${stray.file.name} is not named like a part of a split model (name-00001-of-00003.gguf)`);
  const { base, count } = parsed[0].part!;
  const parts: T[] = new Array(count);
  for (const { file, part } of parsed) {
    if (part!.base !== base || part!.count !== count) throw splitError(`${file.name} is not a part of ${base} (${count} parts)`);
    if (parts[part!.index - 1]) throw splitError(`part ${part!.index} of ${base} was given twice`);
    parts[part!.index - 1] = file;
  }
  const missing = [...parts.keys()].filter((i) => !parts[i]).map((i) => i + 1);
  if (missing.length > 0) throw splitError(`${base} has ${count} parts; missing part(s) ${missing.join(', ')}. Drop all of them together`);
  return { base, parts };
}

function splitError(message: string): ClawError {
  return new ClawError('clw-model-invalid', message, { fix: 'Drop every part of the split model (name-0000k-of-0000n.gguf) together.' });
}

function splitNumber(file: GgufFile, key: string): number | undefined {
  const v = file.metadata.get(key)?.value;
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined;
}

/** One file from the parts' headers; `starts` are the parts' offsets in the concatenation. */
export function mergeSplitParts(parts: readonly GgufFile[], starts: readonly number[], totalSize: number): GgufFile {
  const first = parts[0];
  const count = splitNumber(first, 'split.count');
  if (parts.length === 1 && count === undefined) return first;
  if (count !== parts.length) {
    throw modelInvalid('split.count', 0, `the first part says ${count ?? 'nothing about'} parts, ${parts.length} were given`);
  }
  const tensors: GgufTensorInfo[] = [];
  const names = new Set<string>();
  parts.forEach((part, i) => {
    const no = splitNumber(part, 'split.no');
    if (no !== i) throw modelInvalid('split.no', starts[i], `part ${i + 1} says it is part ${no === undefined ? '?' : no + 1}`);
    for (const t of part.tensors) {
      if (names.has(t.name)) throw modelInvalid(`tensor ${t.name}`, starts[i] + t.fileOffset, 'appears in two parts');
      names.add(t.name);
      // `offset` stays relative to its own part's data section; `fileOffset` is absolute.
      tensors.push({ ...t, fileOffset: starts[i] + t.fileOffset });
    }
  });
  const expected = splitNumber(first, 'split.tensors.count');
  if (expected !== undefined && expected !== tensors.length) {
    throw modelInvalid('split.tensors.count', 0, `says ${expected} tensors, the parts hold ${tensors.length}`);
  }
  return { ...first, tensors, fileSize: totalSize };
}
