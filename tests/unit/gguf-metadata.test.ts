import { describe, expect, it } from 'vitest';
import {
  BytesSource,
  GgmlType,
  GgufValueType,
  findTensor,
  kv,
  metaBool,
  metaNumber,
  metaNumberArray,
  metaString,
  metaStringArray,
  optionalBool,
  optionalNumber,
  optionalNumberArray,
  optionalString,
  optionalStringArray,
  readGguf,
  requireTensor,
  writeGguf,
  type GgufFile,
} from '../../src/gguf';
import { ClawError } from '../../src/errors';

async function fixture(): Promise<GgufFile> {
  const bytes = writeGguf({
    metadata: [
      kv.str('general.architecture', 'llama'),
      kv.u32('llama.block_count', 5),
      kv.f32('llama.rope.freq_base', 10000),
      kv.u64('general.parameter_count', 260_000n),
      kv.u64('huge', 2n ** 60n),
      kv.bool('tokenizer.ggml.add_bos_token', true),
      kv.strArr('tokenizer.ggml.tokens', ['<unk>', '<s>', '</s>']),
      kv.f32Arr('tokenizer.ggml.scores', [0, -1, -2]),
      kv.arr('ids', GgufValueType.UINT64, [1n, 2n]),
    ],
    tensors: [{ name: 'token_embd.weight', shape: [32, 3], type: GgmlType.F32 }],
  });
  return readGguf(new BytesSource(bytes));
}

/** Runs `f` and checks it threw clw-model-invalid naming `key`. */
function expectInvalidKey(f: () => unknown, key: string, problem: RegExp): void {
  let thrown: unknown;
  try {
    f();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(ClawError);
  const err = thrown as ClawError;
  expect([err.code, err.details.field]).toEqual(['clw-model-invalid', key]);
  expect(err.message).toMatch(problem);
}

describe('typed metadata getters', () => {
  it('return values of the asked type', async () => {
    const file = await fixture();
    expect(metaString(file, 'general.architecture')).toBe('llama');
    expect(metaNumber(file, 'llama.block_count')).toBe(5);
    expect(metaNumber(file, 'llama.rope.freq_base')).toBe(10000);
    expect(metaNumber(file, 'general.parameter_count')).toBe(260_000);
    expect(metaBool(file, 'tokenizer.ggml.add_bos_token')).toBe(true);
    expect(metaStringArray(file, 'tokenizer.ggml.tokens')).toEqual(['<unk>', '<s>', '</s>']);
    expect(metaNumberArray(file, 'tokenizer.ggml.scores')).toEqual([0, -1, -2]);
    expect(metaNumberArray(file, 'ids')).toEqual([1, 2]);
  });

  it('use the fallback only when the key is absent', async () => {
    const file = await fixture();
    expect(metaNumber(file, 'llama.context_length', 2048)).toBe(2048);
    expect(metaBool(file, 'tokenizer.ggml.add_eos_token', false)).toBe(false);
    expectInvalidKey(() => metaNumber(file, 'general.architecture', 1), 'general.architecture', /expected a number, found STRING/);
  });

  it('optional variants return undefined for absent keys', async () => {
    const file = await fixture();
    expect(optionalString(file, 'general.name')).toBeUndefined();
    expect(optionalNumber(file, 'x')).toBeUndefined();
    expect(optionalBool(file, 'x')).toBeUndefined();
    expect(optionalStringArray(file, 'x')).toBeUndefined();
    expect(optionalNumberArray(file, 'x')).toBeUndefined();
    expect(optionalString(file, 'general.architecture')).toBe('llama');
  });

  it('name the key when it is missing', async () => {
    const file = await fixture();
    expectInvalidKey(() => metaString(file, 'general.name'), 'general.name', /missing/);
    expectInvalidKey(() => metaNumber(file, 'llama.context_length'), 'llama.context_length', /missing/);
    expectInvalidKey(() => metaBool(file, 'x.flag'), 'x.flag', /missing/);
    expectInvalidKey(() => metaStringArray(file, 'tokenizer.ggml.merges'), 'tokenizer.ggml.merges', /missing/);
    expectInvalidKey(() => metaNumberArray(file, 'x.ids'), 'x.ids', /missing/);
  });

  it('name the key when it has the wrong type', async () => {
    const file = await fixture();
    expectInvalidKey(() => metaString(file, 'llama.block_count'), 'llama.block_count', /expected a string, found UINT32/);
    expectInvalidKey(() => metaBool(file, 'llama.block_count'), 'llama.block_count', /expected a bool/);
    expectInvalidKey(() => metaStringArray(file, 'tokenizer.ggml.scores'), 'tokenizer.ggml.scores', /array of strings, found an array of FLOAT32/);
    expectInvalidKey(() => metaNumberArray(file, 'tokenizer.ggml.tokens'), 'tokenizer.ggml.tokens', /array of numbers/);
    expectInvalidKey(() => metaStringArray(file, 'general.architecture'), 'general.architecture', /expected an array/);
  });

  it('refuse a 64-bit value that does not fit a JavaScript number', async () => {
    const file = await fixture();
    expectInvalidKey(() => metaNumber(file, 'huge'), 'huge', /too large/);
  });

  it('find tensors by name and name a missing required one', async () => {
    const file = await fixture();
    expect(findTensor(file, 'token_embd.weight')?.shape).toEqual([32, 3]);
    expect(findTensor(file, 'output.weight')).toBeUndefined();
    expectInvalidKey(() => requireTensor(file, 'output.weight'), 'output.weight', /required tensor is missing/);
  });
});
