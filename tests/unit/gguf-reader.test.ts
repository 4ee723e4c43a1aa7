import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  BlobSource,
  BytesSource,
  GgmlType,
  GgufValueType,
  arrayValue,
  kv,
  readGguf,
  writeGguf,
  type GgufMetadataEntry,
  type GgufTensorSpec,
  type GgufValue,
} from '../../src/gguf';
import { openFileSource } from '../../src/gguf/source-node';
import {
  RecordingSource,
  SparseSource,
  STORIES_260K,
  TINYSTORIES_Q8,
  expectModelInvalid,
  haveModels,
  noModelsReason,
  patched,
} from './gguf-helpers';

const read = (bytes: Uint8Array, headerOnly = false) => readGguf(new BytesSource(bytes), { headerOnly });

// The base fixture and where its fields start (little-endian GGUF v3):
//   0 magic, 4 version, 8 tensor_count, 16 metadata_kv_count
//   24 key "general.architecture" (8 + 20)   52 type   56 value "llama" (8 + 5)
//   69 key "llama.block_count" (8 + 17)      94 type   98 value u32
//  102 tensors[0] name "a" (8 + 1)  111 n_dims  115 dims [32, 2]  131 type  135 offset
//  143 tensors[1] name "b" (8 + 1)  152 n_dims  156 dims [64]     164 type  168 offset
//  176 padding to 192 = tensor data: "a" F32 256 bytes at 0, "b" Q8_0 68 bytes at 256, padded to 544
const BASE_METADATA = [kv.str('general.architecture', 'llama'), kv.u32('llama.block_count', 1)];
const BASE_TENSORS: GgufTensorSpec[] = [
  { name: 'a', shape: [32, 2], type: GgmlType.F32 },
  { name: 'b', shape: [64], type: GgmlType.Q8_0 },
];
const base = writeGguf({ metadata: BASE_METADATA, tensors: BASE_TENSORS });

/** A file with only metadata, laid out at alignment 32 whatever general.alignment says. */
function withMetadata(...metadata: GgufMetadataEntry[]): Uint8Array {
  return writeGguf({ alignment: 32, metadata, tensors: [] });
}

/** An array value nested `levels` deep (1 = a plain INT32 array). */
function nested(levels: number): GgufValue {
  let v: GgufValue = arrayValue(GgufValueType.INT32, [7]);
  for (let i = 1; i < levels; i++) v = arrayValue(GgufValueType.ARRAY, [v]);
  return v;
}

describe('readGguf on a writer-made file', () => {
  it('parses the base fixture at the offsets the malformed-file tests rely on', async () => {
    const file = await read(base);
    expect(base.length).toBe(544);
    expect(file.tensorDataOffset).toBe(192);
    expect(file.tensors.map((t) => [t.name, t.offset, t.fileOffset, t.byteSize])).toEqual([
      ['a', 0, 192, 256],
      ['b', 256, 448, 68],
    ]);
    const view = new DataView(base.buffer);
    expect(view.getBigUint64(56, true)).toBe(5n);
    expect(view.getUint32(98, true)).toBe(1);
    expect(view.getBigUint64(143, true)).toBe(1n);
    expect(view.getUint32(164, true)).toBe(GgmlType.Q8_0);
    expect(view.getBigUint64(168, true)).toBe(256n);
  });

  it('reads the same result through a window of a few bytes as through the default window', async () => {
    const bytes = writeGguf({ metadata: [...BASE_METADATA, kv.strArr('tokens', ['a', 'bb', 'ccc']), kv.arr('n', GgufValueType.ARRAY, [nested(2)])], tensors: BASE_TENSORS });
    const whole = await read(bytes);
    for (const windowBytes of [1, 7, 64]) {
      expect(await readGguf(new BytesSource(bytes), { windowBytes })).toEqual(whole);
    }
  });

  it('decodes invalid UTF-8 in a string value with replacement characters', async () => {
    const file = await read(patched(base, (v) => v.setUint8(64, 0xff)));
    expect(file.metadata.get('general.architecture')!.value).toBe('\uFFFDlama');
  });

  it('accepts arrays nested as deep as the limit (4 levels)', async () => {
    const file = await read(withMetadata({ key: 'deep', type: GgufValueType.ARRAY, value: nested(4) }));
    expect(file.metadata.get('deep')!.value).toEqual(nested(4));
  });

  it('reads the header of a 5 GB file in a few MiB of reads', async () => {
    const vocab = Array.from({ length: 32000 }, (_, i) => `token${i}`);
    const q4k = (name: string, shape: number[]) => ({ name, shape, type: GgmlType.Q4_K });
    const tensors = [q4k('token_embd.weight', [4096, 32000]), { name: 'output_norm.weight', shape: [4096], type: GgmlType.F32 }];
    for (let l = 0; l < 32; l++) {
      for (const w of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) tensors.push(q4k(`blk.${l}.${w}.weight`, [4096, 4096]));
      tensors.push(q4k(`blk.${l}.ffn_gate.weight`, [4096, 11008]), q4k(`blk.${l}.ffn_up.weight`, [4096, 11008]));
      tensors.push({ name: `blk.${l}.ffn_down.weight`, shape: [11008, 4096], type: GgmlType.Q6_K });
      tensors.push({ name: `blk.${l}.attn_norm.weight`, shape: [4096], type: GgmlType.F32 });
      tensors.push({ name: `blk.${l}.ffn_norm.weight`, shape: [4096], type: GgmlType.F32 });
    }
    tensors.push({ name: 'output.weight', shape: [4096, 32000], type: GgmlType.Q6_K });
    const metadata = [
      kv.str('general.architecture', 'llama'),
      kv.u32('llama.block_count', 32),
      kv.strArr('tokenizer.ggml.tokens', vocab),
      kv.f32Arr('tokenizer.ggml.scores', vocab.map((_, i) => -i)),
      kv.i32Arr('tokenizer.ggml.token_type', vocab.map(() => 1)),
    ];
    const header = writeGguf({ metadata, tensors, headerOnly: true });
    const source = new RecordingSource(new SparseSource(header, 5e9));

    const file = await readGguf(source);

    expect(file.tensors).toHaveLength(2 + 32 * 9 + 1);
    const last = file.tensors[file.tensors.length - 1];
    expect(last.fileOffset + last.byteSize).toBeGreaterThan(4e9);
    expect(last.fileOffset + last.byteSize).toBeLessThanOrEqual(5e9);
    expect(source.bytesRead).toBeLessThan(header.length + (1 << 20));
    expect(source.bytesRead).toBeLessThan(4 << 20);
  });
});

describe('readGguf rejects malformed files, naming the field and its byte offset', () => {
  it('rejects a bad magic', async () => {
    await expectModelInvalid(read(patched(base, (v) => v.setUint8(0, 0x47 ^ 1))), 'magic', 0);
  });

  it('rejects a file too short to hold the magic', async () => {
    await expectModelInvalid(read(base.subarray(0, 2)), 'magic', 0);
  });

  it('rejects GGUF version 1 as unsupported', async () => {
    const err = await expectModelInvalid(read(patched(base, (v) => v.setUint32(4, 1, true))), 'version', 4);
    expect(err.message).toMatch(/version 1 is not supported/);
  });

  it('rejects an unknown version', async () => {
    const err = await expectModelInvalid(read(patched(base, (v) => v.setUint32(4, 4, true))), 'version', 4);
    expect(err.message).toMatch(/unknown version 4/);
  });

  it('rejects a big-endian file, saying so', async () => {
    const err = await expectModelInvalid(read(patched(base, (v) => v.setUint32(4, 3, false))), 'version', 4);
    expect(err.message).toMatch(/big-endian/);
  });

  it('rejects a file truncated inside the header counts', async () => {
    await expectModelInvalid(read(base.subarray(0, 10)), 'tensor_count', 8);
  });

  it('rejects a file truncated inside a metadata value', async () => {
    // key "general.name" at 24, its string value at 48..256, key "n" at 256, its u32 value at 269
    const bytes = withMetadata(kv.str('general.name', 'x'.repeat(200)), kv.u32('n', 5));
    await expectModelInvalid(read(bytes.subarray(0, 271)), 'n', 269);
  });

  it('rejects a file truncated inside the tensor table', async () => {
    await expectModelInvalid(read(base.subarray(0, 120)), 'tensors[0].shape', 115);
  });

  it('rejects a string value whose length runs past the end of the file', async () => {
    await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(56, 1_000_000n, true))), 'general.architecture', 56);
  });

  it('rejects a key whose length runs past the end of the file', async () => {
    await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(24, 2n ** 64n - 1n, true))), 'metadata[0].key', 24);
  });

  it('rejects a string longer than the limit without reading it, even when the file is big enough', async () => {
    const source = new RecordingSource(new SparseSource(patched(base, (v) => v.setBigUint64(56, 100n << 20n, true)), 1e9));
    const err = await expectModelInvalid(readGguf(source, { headerOnly: true }), 'general.architecture', 56);
    expect(err.message).toMatch(/limit/);
    expect(source.largestRead).toBeLessThanOrEqual(1 << 20);
  });

  describe('arrays', () => {
    // key "arr" at 24, type at 35, element type at 39, count at 43, three u32 elements at 51..63
    const arr = withMetadata(kv.u32Arr('arr', [1, 2, 3]));

    it('reads the array fixture as written', async () => {
      expect((await read(arr)).metadata.get('arr')!.value).toEqual(arrayValue(GgufValueType.UINT32, [1, 2, 3]));
    });

    it('rejects an array count whose elements need more bytes than remain (count x element size)', async () => {
      // 5 elements of 4 bytes need 20; 13 remain (12 of data + 1 of padding).
      await expectModelInvalid(read(patched(arr, (v) => v.setBigUint64(43, 5n, true))), 'arr', 43);
    });

    it('rejects an absurd array count', async () => {
      await expectModelInvalid(read(patched(arr, (v) => v.setBigUint64(43, 2n ** 63n, true))), 'arr', 43);
    });

    it('rejects an unknown array element type', async () => {
      await expectModelInvalid(read(patched(arr, (v) => v.setUint32(39, 99, true))), 'arr', 39);
    });

    it('rejects arrays nested deeper than the limit', async () => {
      // key "deep" at 24, type at 36; array headers (12 bytes) at 40, 52, 64, 76: the fourth holds arrays again.
      const bytes = withMetadata({ key: 'deep', type: GgufValueType.ARRAY, value: nested(5) });
      const err = await expectModelInvalid(read(bytes), 'deep', 76);
      expect(err.message).toMatch(/nested deeper/);
    });
  });

  it('rejects a key that is not valid UTF-8', async () => {
    await expectModelInvalid(read(patched(base, (v) => v.setUint8(32, 0xff))), 'metadata[0].key', 24);
  });

  it('rejects an empty key', async () => {
    await expectModelInvalid(read(withMetadata(kv.u32('', 1))), 'metadata[0].key', 24);
  });

  it('rejects a duplicate metadata key', async () => {
    // first entry: key "x" (9) + type (4) + u32 (4) = 17 bytes from 24
    const err = await expectModelInvalid(read(withMetadata(kv.u32('x', 1), kv.u32('x', 2))), 'metadata[1].key', 41);
    expect(err.message).toMatch(/duplicate key "x"/);
  });

  it('rejects an unknown metadata value type', async () => {
    await expectModelInvalid(read(patched(base, (v) => v.setUint32(94, 13, true))), 'llama.block_count', 94);
  });

  it('rejects a bool that is neither 0 nor 1', async () => {
    // key "b" at 24, type at 33, value at 37
    await expectModelInvalid(read(patched(withMetadata(kv.bool('b', true)), (v) => v.setUint8(37, 2))), 'b', 37);
  });

  describe('general.alignment', () => {
    // key "general.alignment" (8 + 17) at 24, type at 49, value at 53
    it('rejects an alignment that is not a power of two', async () => {
      await expectModelInvalid(read(withMetadata(kv.u32('general.alignment', 48))), 'general.alignment', 53);
    });

    it('rejects an alignment of zero', async () => {
      await expectModelInvalid(read(withMetadata(kv.u32('general.alignment', 0))), 'general.alignment', 53);
    });

    it('rejects an alignment that is not an integer', async () => {
      await expectModelInvalid(read(withMetadata(kv.str('general.alignment', '32'))), 'general.alignment', 53);
      await expectModelInvalid(read(withMetadata(kv.f32('general.alignment', 32))), 'general.alignment', 53);
    });

    it('accepts an alignment stored as a u64', async () => {
      expect((await read(withMetadata(kv.u64('general.alignment', 64)))).alignment).toBe(64);
    });

    it('defaults to 32 when the key is absent', async () => {
      expect((await read(base)).alignment).toBe(32);
    });
  });

  describe('tensor table', () => {
    it('rejects n_dims of 0', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setUint32(111, 0, true))), 'tensors[0].n_dims', 111);
    });

    it('rejects n_dims above 4', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setUint32(111, 5, true))), 'tensors[0].n_dims', 111);
    });

    it('rejects a zero dimension', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(123, 0n, true))), 'tensors[0].shape', 123);
    });

    it('rejects dimensions whose element count is not a safe integer', async () => {
      const bytes = patched(base, (v) => {
        v.setBigUint64(115, 2n ** 32n, true);
        v.setBigUint64(123, 2n ** 32n, true);
      });
      await expectModelInvalid(read(bytes, true), 'tensors[0].shape', 123);
    });

    it('rejects an unknown ggml type', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setUint32(164, 99, true))), 'tensors[1].type', 164);
    });

    it('rejects a retired ggml type id that is not in the type table', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setUint32(164, 4, true))), 'tensors[1].type', 164);
    });

    it('rejects a row length that is not a multiple of the block size', async () => {
      const bytes = writeGguf({ metadata: BASE_METADATA, tensors: [BASE_TENSORS[0], { name: 'b', shape: [48], type: GgmlType.Q8_0 }] });
      const err = await expectModelInvalid(read(bytes), 'tensors[1].shape', 156);
      expect(err.message).toMatch(/block size 32/);
    });

    it('rejects a tensor offset that is not a multiple of the alignment', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(168, 260n, true))), 'tensors[1].offset', 168);
    });

    it('rejects an absurd tensor offset', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(168, 2n ** 60n, true)), true), 'tensors[1].offset', 168);
    });

    it('rejects a tensor whose data runs past the end of the file', async () => {
      await expectModelInvalid(read(base.subarray(0, 510)), 'tensors[1].offset', 168);
    });

    it('accepts that truncated file when asked for the header only', async () => {
      const file = await read(base.subarray(0, 510), true);
      expect(file.tensors[1].fileOffset + file.tensors[1].byteSize).toBe(516);
    });

    it('rejects overlapping tensors', async () => {
      const err = await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(168, 128n, true))), 'tensors[1].offset', 168);
      expect(err.message).toMatch(/overlaps "a"/);
    });

    it('rejects overlapping tensors listed out of offset order', async () => {
      // "a" moved to 64..320 and "b" to 0..68: sorted by offset, "a" overlaps "b".
      const bytes = patched(base, (v) => {
        v.setBigUint64(135, 64n, true);
        v.setBigUint64(168, 0n, true);
      });
      await expectModelInvalid(read(bytes), 'tensors[0].offset', 135);
    });

    it('rejects duplicate tensor names', async () => {
      const bytes = writeGguf({ metadata: BASE_METADATA, tensors: [BASE_TENSORS[0], { ...BASE_TENSORS[1], name: 'a' }] });
      await expectModelInvalid(read(bytes), 'tensors[1].name', 143);
    });

    it('rejects a tensor count larger than the file could hold', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(8, 1_000_000n, true))), 'tensor_count', 8);
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(8, 2n ** 64n - 1n, true))), 'tensor_count', 8);
    });

    it('rejects a metadata count larger than the file could hold', async () => {
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(16, 1000n, true))), 'metadata_kv_count', 16);
    });

    it('rejects a tensor count one more than the table holds at the first field that cannot be a tensor', async () => {
      // the third "tensor" starts in the zero padding at 176: empty name, then n_dims 0 at 184
      await expectModelInvalid(read(patched(base, (v) => v.setBigUint64(8, 3n, true))), 'tensors[2].n_dims', 184);
    });
  });
});

describe.skipIf(!haveModels)('readGguf on the shared models', () => {
  it('reads stories260K.gguf: llama, 5 layers, 48 F32 tensors, 512 tokens', async () => {
    const source = await openFileSource(STORIES_260K);
    try {
      const file = await readGguf(source);
      expect(file.version).toBe(3);
      expect(file.fileSize).toBe(1_185_376);
      expect(file.metadata.get('general.architecture')!.value).toBe('llama');
      expect(file.metadata.get('llama.block_count')!.value).toBe(5);
      expect(file.metadata.get('llama.embedding_length')!.value).toBe(64);
      expect(file.metadata.get('llama.attention.head_count_kv')!.value).toBe(4);
      const tokens = file.metadata.get('tokenizer.ggml.tokens')!.value;
      expect(typeof tokens === 'object' && tokens.values.length).toBe(512);
      expect(file.tensors).toHaveLength(48);
      expect(file.tensors.every((t) => t.type === GgmlType.F32)).toBe(true);
      const embd = file.tensors.find((t) => t.name === 'token_embd.weight')!;
      expect([...embd.shape]).toEqual([64, 512]);
    } finally {
      await source.close!();
    }
  });

  it('reads TinyStories-656K-Q8_0.gguf: 15 Q8_0 and 5 F32 tensors, 2048 tokens, add_bos true', async () => {
    const source = await openFileSource(TINYSTORIES_Q8);
    try {
      const file = await readGguf(source);
      const count = (type: GgmlType) => file.tensors.filter((t) => t.type === type).length;
      expect([count(GgmlType.Q8_0), count(GgmlType.F32)]).toEqual([15, 5]);
      expect(file.metadata.get('llama.context_length')!.value).toBe(512);
      expect(file.metadata.get('llama.rope.dimension_count')!.value).toBe(16);
      expect(file.metadata.get('tokenizer.ggml.bos_token_id')!.value).toBe(1);
      expect(file.metadata.get('tokenizer.ggml.add_bos_token')!.value).toBe(true);
      const tokens = file.metadata.get('tokenizer.ggml.tokens')!.value;
      expect(typeof tokens === 'object' && tokens.values[1]).toBe('<|start_story|>');
    } finally {
      await source.close!();
    }
  });

  for (const path of [STORIES_260K, TINYSTORIES_Q8]) {
    const name = path.split('/').pop();
    it(`reads only the header of ${name}, not its tensor data`, async () => {
      const bytes = new Uint8Array(await readFile(path));
      const source = new RecordingSource(new BytesSource(bytes));
      const file = await readGguf(source, { windowBytes: 4096 });
      const tensorDataBytes = file.fileSize - file.tensorDataOffset;
      expect(source.bytesRead).toBeLessThanOrEqual(file.tensorDataOffset + 4096);
      expect(source.bytesRead).toBeLessThan(tensorDataBytes / 10);
    });

    it(`reads ${name} from a Blob in slices, never the whole Blob`, async () => {
      const bytes = new Uint8Array(await readFile(path));
      const blob = new Blob([bytes]);
      const slices: number[] = [];
      const realSlice = blob.slice.bind(blob);
      blob.slice = (start?: number, end?: number, type?: string) => {
        slices.push((end ?? blob.size) - (start ?? 0));
        return realSlice(start, end, type);
      };
      const fromBlob = await readGguf(new BlobSource(blob), { windowBytes: 64 << 10 });
      expect(fromBlob).toEqual(await readGguf(new BytesSource(bytes)));
      expect(slices.length).toBeGreaterThan(0);
      expect(Math.max(...slices)).toBeLessThanOrEqual(64 << 10);
      expect(slices.reduce((a, b) => a + b, 0)).toBeLessThan(bytes.length / 2);
    });

    it(`reads the header-only prefix of ${name} when asked for the header only`, async () => {
      const bytes = new Uint8Array(await readFile(path));
      const whole = await readGguf(new BytesSource(bytes));
      const prefix = bytes.subarray(0, whole.tensorDataOffset);
      await expect(readGguf(new BytesSource(prefix))).rejects.toMatchObject({ code: 'clw-model-invalid' });
      const header = await readGguf(new BytesSource(prefix), { headerOnly: true });
      expect(header.tensors).toEqual(whole.tensors);
    });
  }
});
if (!haveModels) it.skip(noModelsReason, () => {});
