import { describe, expect, it } from 'vitest';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgmlType } from '../../src/gguf/types';
import { kv, writeGguf } from '../../src/gguf/writer';
import { ARRAY_SHOWN, fileDetails, quantMix } from '../../src/worker/file-details';

describe('file details for the metadata viewer', () => {
  it('lists every key with its type, cuts long arrays and keeps 64-bit integers exact', async () => {
    const vocab = Array.from({ length: ARRAY_SHOWN + 500 }, (_, i) => `tok${i}`);
    const bytes = writeGguf({
      metadata: [
        kv.str('general.architecture', 'llama'),
        kv.str('general.name', '<img src=x onerror=alert(1)>'),
        kv.u64('general.big', 2n ** 60n + 1n),
        kv.strArr('tokenizer.ggml.tokens', vocab),
      ],
      tensors: [
        { name: 'token_embd.weight', shape: [32, 4], type: GgmlType.Q8_0 },
        { name: 'output_norm.weight', shape: [32], type: GgmlType.F32 },
      ],
    });
    const details = fileDetails(await readGguf(new BytesSource(bytes)));
    const byKey = new Map(details.metadata.map((m) => [m.key, m]));
    expect(details.metadata.map((m) => m.key)).toEqual(['general.architecture', 'general.name', 'general.big', 'tokenizer.ggml.tokens']);
    expect(byKey.get('general.name')).toEqual({ key: 'general.name', type: 'string', values: ['<img src=x onerror=alert(1)>'], length: 1 });
    expect(byKey.get('general.big')?.values).toEqual([(2n ** 60n + 1n).toString()]);
    const tokens = byKey.get('tokenizer.ggml.tokens')!;
    expect(tokens.type).toBe('array[string]');
    expect(tokens.length).toBe(ARRAY_SHOWN + 500);
    expect(tokens.values).toHaveLength(ARRAY_SHOWN);
    expect(tokens.values.at(-1)).toBe(`tok${ARRAY_SHOWN - 1}`);
    expect(details.tensors).toEqual([
      { name: 'token_embd.weight', type: 'Q8_0', shape: [32, 4], bytes: 136, supported: true },
      { name: 'output_norm.weight', type: 'F32', shape: [32], bytes: 128, supported: true },
    ]);
  });

  it('states the quant mix by share of the bytes, largest first', () => {
    expect(quantMix([{ type: 'F32', bytes: 25 }, { type: 'Q8_0', bytes: 60 }, { type: 'Q8_0', bytes: 15 }])).toBe('Q8_0 75%, F32 25%');
    expect(quantMix([])).toBe('');
  });
});
