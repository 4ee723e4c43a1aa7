// A VRAM limit that leaves gemma4's per-layer embedding table in the file:
// what the engine's own plan (planLoad, with the facts the loader uses)
// needs with the table on the GPU, less half the table. Every layer and the
// asked context still fit; the table does not.

import type { ClawEngine } from '../../../src/engine/engine';
import { planLoad } from '../../../src/engine/load-plan';
import { deviceFacts } from '../../../src/engine/loader';
import type { LoadOptions } from '../../../src/engine/types';
import { readGguf } from '../../../src/gguf/reader';
import { BytesSource } from '../../../src/gguf/source';
import { readHyperparams } from '../../../src/model/hparams';

/** Unloads `engine` (the plan counts what is live besides a model) and returns the limit for a load of `bytes` with `load`. */
export async function tableInFileLimit(engine: ClawEngine, bytes: Uint8Array, load: LoadOptions): Promise<{ bytes: number }> {
  await engine.unload();
  const file = await readGguf(new BytesSource(bytes, 'm.gguf'));
  const live = engine.ctx.allocator.liveBytes();
  const { planned } = planLoad(file, readHyperparams(file), 2 ** 40, load, deviceFacts(engine.ctx, live));
  if (!planned.perLayerTable) throw new Error('the unbounded plan leaves the per-layer table in the file');
  return { bytes: live + planned.bytes.total - planned.bytes.perLayerTable / 2 };
}
