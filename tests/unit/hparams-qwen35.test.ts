// qwen35's hyperparameters as llama.cpp's loader reads them
// (src/models/qwen35.cpp): which layers are delta-net, the MTP blocks
// counted in block_count, the delta-net shape checks, and which rope pairs
// IMROPE turns for a text token.

import { describe, expect, it } from 'vitest';
import { kv } from '../../src/gguf/writer';
import { readGguf } from '../../src/gguf/reader';
import { BytesSource } from '../../src/gguf/source';
import { GgufValueType, type GgufFile, type GgufMetadataEntry } from '../../src/gguf/types';
import { readHyperparams } from '../../src/model/hparams';
import { sectionIsText } from '../../src/model/arch/qwen35';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import type { SyntheticDeltaNet } from '../fixtures/synthetic-qwen35';

async function hparams(deltaNet: Partial<SyntheticDeltaNet> = {}, extraMetadata: GgufMetadataEntry[] = [], nLayers = 8, edit?: (file: GgufFile) => void) {
  const bytes = makeSyntheticModel({
    arch: 'qwen35', nEmbd: 64, nFf: 128, nLayers, nHeads: 2, nKvHeads: 1, headDim: 32, ropeDim: 16, seed: 1, headerOnly: true, extraMetadata,
    deltaNet: { stateSize: 16, kHeads: 2, vHeads: 4, convKernel: 4, ropeSections: [2, 2, 2, 2], ...deltaNet },
  });
  const file = await readGguf(new BytesSource(bytes), { headerOnly: true });
  edit?.(file);
  return readHyperparams(file);
}

describe('qwen35 hyperparameters', () => {
  it('makes every fourth layer full attention when full_attention_interval is absent, and leaves the MTP blocks out', async () => {
    const hp = await hparams({ mtpLayers: 2 });
    expect(hp.nLayers).toBe(8);
    expect(hp.deltaNet?.mtpLayers).toBe(2);
    expect(hp.recurrentLayers).toEqual([true, true, true, false, true, true, true, false]);
  });

  it('follows full_attention_interval, and attention.recurrent_layers over it', async () => {
    expect((await hparams({ fullAttentionInterval: 2 }, [], 4)).recurrentLayers).toEqual([true, false, true, false]);
    const listed = await hparams({ fullAttentionInterval: 2 }, [kv.u32Arr('qwen35.attention.recurrent_layers', [0, 1, 1, 0])], 4);
    expect(listed.recurrentLayers).toEqual([false, true, true, false]);
    // As llama.cpp writes it: one bool per block, the MTP block's included (and dropped with it); other lengths are refused.
    const flags = (n: number) => [kv.arr('qwen35.attention.recurrent_layers', GgufValueType.BOOL, [true, false, true, false, false].slice(0, n))];
    expect((await hparams({ mtpLayers: 1 }, flags(5), 4)).recurrentLayers).toEqual([true, false, true, false]);
    await expect(hparams({ mtpLayers: 1 }, flags(4), 4)).rejects.toMatchObject({ code: 'clw-model-invalid', message: expect.stringContaining('recurrent_layers') });
  });

  it('rejects an inner size that is not value heads x state size, and a state size the kernels cannot run', async () => {
    const innerSize = (file: GgufFile) => (file.metadata as Map<string, GgufMetadataEntry>).set('qwen35.ssm.inner_size', kv.u32('qwen35.ssm.inner_size', 48));
    await expect(hparams({}, [], 8, innerSize)).rejects.toMatchObject({ code: 'clw-model-invalid', message: expect.stringContaining('time_step_rank x state_size') });
    await expect(hparams({ stateSize: 24 })).rejects.toMatchObject({ code: 'clw-arch-unsupported' });
  });

  it("turns a text token's pairs in IMROPE's first three sections only", () => {
    // Qwen 3.5's sections [11, 11, 10, 0] over 32 pairs turn every pair.
    expect(Array.from({ length: 32 }, (_, i) => sectionIsText([11, 11, 10, 0], i)).every(Boolean)).toBe(true);
    // Interleaved t, h, w, t, h, w, ... while each section lasts; the fourth section (e) stays still.
    expect(Array.from({ length: 16 }, (_, i) => sectionIsText([1, 1, 1, 5], i))).toEqual([
      true, true, true, false, false, false, false, false, true, true, true, false, false, false, false, false,
    ]);
  });
});
