// createEngine for Node.js (and Deno): the model may also be a file path,
// and the GPU is the runtime's own WebGPU where it has one (Deno), else Dawn
// (the optional `webgpu` peer dependency), unless one is passed. On a machine
// without a Vulkan driver, Dawn is pointed at SwiftShader when Chromium's
// copy is installed (see gpu-node.ts).

import { openFileSource } from '../gguf/source-node';
import { getRuntimeGpu } from '../gpu/gpu-node';
import { toSource } from './create-engine';
import { openEngine, type CreateEngineBaseOptions, type WebClawEngine } from './engine';
import type { ByteSource } from '../gguf/types';

export interface CreateNodeEngineOptions extends CreateEngineBaseOptions {
  /** The GGUF model: a file path, a Blob, or a ByteSource. */
  model: string | Blob | ByteSource;
}

export async function createEngine(options: CreateNodeEngineOptions): Promise<WebClawEngine> {
  const { model, ...rest } = options;
  const gpu = options.gpu ?? getRuntimeGpu();
  if (typeof model === 'string') return openEngine(await openFileSource(model), gpu, rest, true);
  return openEngine(toSource(model), gpu, rest, false);
}
