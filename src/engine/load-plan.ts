// The one memory plan for a load: the compatibility report shows it before
// loading and the loader allocates it, from the same options and the same
// facts about the device (its limits and what is live on it).

import type { ByPurpose } from '../gpu/allocator';
import type { GgufFile } from '../gguf/types';
import { kvTypeFor } from '../model/kv-cache';
import type { Hyperparams } from '../model/hparams';
import { planEngineMemory, type EnginePlan, type EnginePlanOptions } from '../model/engine-memory';
import { DEFAULT_LOAD } from './defaults';
import type { LoadOptions } from './types';

const NOTHING_LIVE: ByPurpose = { weights: 0, kv: 0, activations: 0, staging: 0, uniforms: 0 };

/** What the device holds before the model loads, and the largest buffer part it allows. */
export interface DeviceFacts {
  /** Bytes live besides the model being replaced (the kernels' own buffers); 0 without a device. */
  liveBytes?: number;
  liveByPurpose?: ByPurpose;
  /** min(maxStorageBufferBindingSize, maxBufferSize); unbounded without a device. */
  maxPartBytes?: number;
}

export interface LoadPlanResult {
  planned: EnginePlan;
  /** The options the plan was made with (the loader shrinks with the same ones after an allocation failure). */
  memory: EnginePlanOptions;
  kvDynamic: boolean;
}

export function planLoad(file: GgufFile, hp: Hyperparams, budgetBytes: number, options: LoadOptions, facts: DeviceFacts = {}): LoadPlanResult {
  const kvDynamic = options.kvCacheDynamic ?? DEFAULT_LOAD.kvCacheDynamic;
  const memory: EnginePlanOptions = {
    budgetBytes,
    liveBytes: facts.liveBytes ?? 0,
    liveByPurpose: facts.liveByPurpose ?? NOTHING_LIVE,
    ctxSize: options.ctxSize,
    nGpuLayers: options.nGpuLayers,
    batchSize: Math.max(1, Math.floor(options.batchSize ?? DEFAULT_LOAD.batchSize)),
    kvDynamic,
    kvType: kvTypeFor(options.kvType ?? DEFAULT_LOAD.kvType, hp.kvDim),
    maxPartBytes: facts.maxPartBytes ?? Number.MAX_SAFE_INTEGER,
  };
  return { planned: planEngineMemory(file, hp, memory), memory, kvDynamic };
}
