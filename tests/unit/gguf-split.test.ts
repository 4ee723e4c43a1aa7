import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { ConcatSource, orderSplitParts, splitPartOf } from '../../src/gguf/split';
import { GgmlType } from '../../src/gguf/types';
import { kv, writeGguf } from '../../src/gguf/writer';
import { splitGguf } from '../fixtures/split-gguf';

function model(): Uint8Array {
  let x = 7;
  const data = (n: number) => Uint8Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) & 0xff));
  return writeGguf({
    metadata: [kv.str('general.architecture', 'llama'), kv.u32('llama.block_count', 2)],
    tensors: [
      { name: 'a', shape: [32, 3], type: GgmlType.F32, data: data(32 * 3 * 4) },
      { name: 'b', shape: [64], type: GgmlType.F32, data: data(64 * 4) },
      { name: 'c', shape: [32, 2], type: GgmlType.Q8_0, data: data(2 * 34) },
      { name: 'd', shape: [16], type: GgmlType.F32, data: data(16 * 4) },
    ],
  });
}

const parts = (list: Uint8Array[]) => new ConcatSource(list.map((p, i) => new BytesSource(p, `m-0000${i + 1}-of-0000${list.length}.gguf`)), 'm');

describe('split GGUF models', () => {
  it('read as one file: every tensor at an offset in the concatenation that holds its bytes', async () => {
    const whole = model();
    const original = await readGguf(new BytesSource(whole));
    const source = parts(await splitGguf(whole, 3));
    const merged = await readGguf(source);
    expect(merged.tensors.map((t) => [t.name, t.type, t.shape])).toEqual(original.tensors.map((t) => [t.name, t.type, t.shape]));
    expect(merged.metadata.get('llama.block_count')?.value).toBe(2);
    expect(merged.fileSize).toBe(source.size);
    for (const [i, t] of merged.tensors.entries()) {
      const o = original.tensors[i];
      expect(await source.read(t.fileOffset, t.byteSize)).toEqual(whole.subarray(o.fileOffset, o.fileOffset + o.byteSize));
    }
  });

  it('reads ranges across part boundaries', async () => {
    const a = Uint8Array.from([1, 2, 3]);
    const b = Uint8Array.from([4, 5]);
    const c = Uint8Array.from([6, 7, 8, 9]);
    const s = new ConcatSource([new BytesSource(a), new BytesSource(b), new BytesSource(c)]);
    expect(s.size).toBe(9);
    expect(Array.from(await s.read(2, 5))).toEqual([3, 4, 5, 6, 7]);
    expect(Array.from(await s.read(3, 2))).toEqual([4, 5]);
    expect(Array.from(await s.read(0, 9))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await expect(s.read(8, 2)).rejects.toThrow(ClawError);
  });

  it('rejects parts out of order', async () => {
    const list = await splitGguf(model(), 2);
    await expect(readGguf(parts([list[1], list[0]]))).rejects.toThrow(/split\.no/);
  });

  it('orders dropped parts by their names and names what is missing', () => {
    const f = (name: string) => ({ name });
    expect(splitPartOf('Qwen3-8B-Q4_K_M-00002-of-00003.gguf')).toEqual({ base: 'Qwen3-8B-Q4_K_M', index: 2, count: 3 });
    expect(splitPartOf('model.gguf')).toBeUndefined();
    const ordered = orderSplitParts([f('m-00003-of-00003.gguf'), f('m-00001-of-00003.gguf'), f('m-00002-of-00003.gguf')]);
    expect(ordered.base).toBe('m');
    expect(ordered.parts.map((p) => p.name)).toEqual(['m-00001-of-00003.gguf', 'm-00002-of-00003.gguf', 'm-00003-of-00003.gguf']);
    expect(() => orderSplitParts([f('m-00001-of-00003.gguf'), f('m-00003-of-00003.gguf')])).toThrow(/missing part\(s\) 2/);
    expect(() => orderSplitParts([f('m-00001-of-00002.gguf'), f('other.gguf')])).toThrow(/other\.gguf is not named like a part/);
    expect(() => orderSplitParts([f('m-00001-of-00002.gguf'), f('n-00002-of-00002.gguf')])).toThrow(/not a part of m/);
  });
});
