import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import {
  BytesSource,
  GgmlType,
  GgufValueType,
  arrayValue,
  formatGgufDump,
  kv,
  readGguf,
  writeGguf,
  type GgufMetadataEntry,
  type GgufTensorSpec,
} from '../../src/gguf';
import { STORIES_260K, TINYSTORIES_Q8, haveModels, noModelsReason } from './gguf-helpers';

/** One entry of every value type, plus arrays of each and nested arrays. */
function everyValueType(): GgufMetadataEntry[] {
  return [
    kv.u8('t.u8', 255),
    kv.i8('t.i8', -128),
    kv.u16('t.u16', 65535),
    kv.i16('t.i16', -32768),
    kv.u32('t.u32', 4_000_000_000),
    kv.i32('t.i32', -2_000_000_000),
    kv.f32('t.f32', 1.5),
    kv.f64('t.f64', Math.PI),
    kv.bool('t.true', true),
    kv.bool('t.false', false),
    kv.str('t.str', 'héllo, 世界 🦙'),
    kv.str('t.empty', ''),
    kv.u64('t.u64', 2n ** 64n - 1n),
    kv.i64('t.i64', -(2n ** 63n)),
    kv.arr('a.u8', GgufValueType.UINT8, [0, 1, 255]),
    kv.arr('a.i8', GgufValueType.INT8, [-1, 127]),
    kv.arr('a.u16', GgufValueType.UINT16, [7, 65535]),
    kv.arr('a.i16', GgufValueType.INT16, [-7, 300]),
    kv.u32Arr('a.u32', [1, 4_294_967_295]),
    kv.i32Arr('a.i32', [-5, 5]),
    kv.f32Arr('a.f32', [0.25, -1000]),
    kv.arr('a.f64', GgufValueType.FLOAT64, [1e300, -0.5]),
    kv.arr('a.bool', GgufValueType.BOOL, [true, false, true]),
    kv.strArr('a.str', ['<unk>', '▁the', '']),
    kv.arr('a.u64', GgufValueType.UINT64, [0n, 2n ** 63n]),
    kv.arr('a.i64', GgufValueType.INT64, [-1n, 2n ** 40n]),
    kv.arr('a.empty', GgufValueType.INT32, []),
    kv.arr('a.nested', GgufValueType.ARRAY, [
      arrayValue(GgufValueType.INT32, [1, 2, 3]),
      arrayValue(GgufValueType.STRING, ['x', 'y']),
      arrayValue(GgufValueType.ARRAY, [arrayValue(GgufValueType.FLOAT32, [0.5])]),
    ]),
  ];
}

function seededBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17) & 0xff;
  return out;
}

/** Tensors of several types, with data whose bytes identify them. */
function severalTensors(): GgufTensorSpec[] {
  return [
    { name: 'f32', shape: [3, 5], type: GgmlType.F32, data: seededBytes(60, 1) },
    { name: 'f16', shape: [7], type: GgmlType.F16, data: seededBytes(14, 2) },
    { name: 'q8_0', shape: [64, 2], type: GgmlType.Q8_0, data: seededBytes(4 * 34, 3) },
    { name: 'q4_k', shape: [256, 1, 2], type: GgmlType.Q4_K, data: seededBytes(2 * 144, 4) },
    { name: 'i8', shape: [1, 1, 1, 9], type: GgmlType.I8, data: seededBytes(9, 5) },
  ];
}

describe('GGUF writer -> reader round trip', () => {
  for (const version of [2, 3] as const) {
    it(`keeps every metadata value type, 64-bit ints as bigint and nested arrays (v${version})`, async () => {
      const metadata = everyValueType();
      const file = await readGguf(new BytesSource(writeGguf({ version, metadata, tensors: [] })));
      expect(file.version).toBe(version);
      expect([...file.metadata.values()]).toEqual(metadata);
      expect(typeof file.metadata.get('t.u64')!.value).toBe('bigint');
      expect(file.metadata.get('t.u64')!.value).toBe(18446744073709551615n);
      expect(file.metadata.get('t.i64')!.value).toBe(-9223372036854775808n);
    });
  }

  for (const alignment of [32, 64]) {
    it(`lays tensors of several types out at multiples of alignment ${alignment} and reads their data back`, async () => {
      const tensors = severalTensors();
      const metadata = [kv.str('general.architecture', 'llama'), kv.u32('general.alignment', alignment)];
      const bytes = writeGguf({ metadata, tensors });
      const file = await readGguf(new BytesSource(bytes));
      expect(file.alignment).toBe(alignment);
      expect(file.tensorDataOffset % alignment).toBe(0);
      expect(file.tensors.map((t) => [t.name, [...t.shape], t.type])).toEqual(tensors.map((t) => [t.name, t.shape, t.type]));
      for (const [i, t] of file.tensors.entries()) {
        expect(t.offset % alignment).toBe(0);
        expect(t.fileOffset).toBe(file.tensorDataOffset + t.offset);
        expect(t.byteSize).toBe(tensors[i].data!.length);
        expect(bytes.subarray(t.fileOffset, t.fileOffset + t.byteSize)).toEqual(tensors[i].data);
      }
      expect(file.tensors.map((t) => t.elements)).toEqual([15, 7, 128, 512, 9]);
    });
  }

  it('uses the alignment option for layout without writing general.alignment', async () => {
    const bytes = writeGguf({ alignment: 64, metadata: [], tensors: severalTensors() });
    const file = await readGguf(new BytesSource(bytes));
    expect(file.metadata.has('general.alignment')).toBe(false);
    // The reader assumes 32 without the key; 64-aligned offsets are also 32-aligned.
    expect(file.alignment).toBe(32);
    for (const t of file.tensors) expect(t.offset % 64).toBe(0);
  });

  it('fills tensors given without data with zeros', async () => {
    const bytes = writeGguf({ metadata: [], tensors: [{ name: 'w', shape: [8], type: GgmlType.F32 }] });
    const file = await readGguf(new BytesSource(bytes));
    const t = file.tensors[0];
    expect(bytes.subarray(t.fileOffset, t.fileOffset + t.byteSize)).toEqual(new Uint8Array(32));
  });

  it('header-only output ends at the data section but keeps offsets laid out as if data were present', async () => {
    const tensors = severalTensors();
    const full = await readGguf(new BytesSource(writeGguf({ metadata: [], tensors })));
    const headerBytes = writeGguf({ metadata: [], tensors: tensors.map(({ data: _, ...t }) => t), headerOnly: true });
    expect(headerBytes.length).toBe(full.tensorDataOffset);
    const header = await readGguf(new BytesSource(headerBytes), { headerOnly: true });
    expect(header.tensors).toEqual(full.tensors);
  });

  it('refuses tensor data whose length does not match the shape and type', () => {
    const spec = { metadata: [], tensors: [{ name: 'w', shape: [32], type: GgmlType.Q8_0, data: new Uint8Array(33) }] };
    expect(() => writeGguf(spec)).toThrow(ClawError);
    expect(() => writeGguf(spec)).toThrow(/need 34/);
  });

  it('refuses a metadata value of the wrong JavaScript type', () => {
    const bad: GgufMetadataEntry = { key: 'k', type: GgufValueType.UINT32, value: 'seven' };
    expect(() => writeGguf({ metadata: [bad], tensors: [] })).toThrow(/needs a number/);
  });

  describe.skipIf(!haveModels)('rewriting the shared models', () => {
    for (const file of [STORIES_260K, TINYSTORIES_Q8]) {
      it(`reproduces ${file.split('/').pop()} byte for byte from what the reader returns`, async () => {
        const original = new Uint8Array(await readFile(file));
        const parsed = await readGguf(new BytesSource(original));
        const rewritten = writeGguf({
          version: parsed.version,
          metadata: [...parsed.metadata.values()],
          tensors: parsed.tensors.map((t) => ({
            name: t.name,
            shape: [...t.shape],
            type: t.type,
            data: original.subarray(t.fileOffset, t.fileOffset + t.byteSize),
          })),
        });
        expect(rewritten.length).toBe(original.length);
        expect(Buffer.compare(Buffer.from(rewritten), Buffer.from(original))).toBe(0);
      });
    }
  });
  if (!haveModels) it.skip(noModelsReason, () => {});
});

describe('formatGgufDump', () => {
  it('lists the header, each metadata entry with its type, shortened long arrays and the tensor table', async () => {
    const metadata = [
      kv.str('general.architecture', 'llama'),
      kv.u64('general.parameter_count', 123n),
      kv.strArr('tokenizer.ggml.tokens', Array.from({ length: 100 }, (_, i) => `tok${i}`)),
      kv.arr('nested', GgufValueType.ARRAY, [arrayValue(GgufValueType.INT32, [1, 2])]),
    ];
    const file = await readGguf(new BytesSource(writeGguf({ metadata, tensors: severalTensors() })));
    const dump = formatGgufDump(file, { maxArrayElements: 3 });
    expect(dump).toContain(`GGUF v3, ${file.fileSize} bytes, alignment 32, tensor data at ${file.tensorDataOffset}`);
    expect(dump).toContain('4 metadata entries, 5 tensors');
    expect(dump).toMatch(/STRING\s+general\.architecture = "llama"/);
    expect(dump).toMatch(/UINT64\s+general\.parameter_count = 123/);
    expect(dump).toMatch(/ARRAY\[STRING\]\s+tokenizer\.ggml\.tokens = \["tok0", "tok1", "tok2", \.\.\. \(100 elements\)\]/);
    expect(dump).toMatch(/ARRAY\[ARRAY\[INT32\]\]\s+nested = \[\[1, 2\]\]/);
    const q4k = file.tensors[3];
    expect(dump).toMatch(new RegExp(`3: q4_k\\s+\\[256, 1, 2\\]\\s+Q4_K\\s+288 bytes @ ${q4k.fileOffset}`));
  });
});
