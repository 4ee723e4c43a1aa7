// createEngine for the browser (main thread or a worker of the user's own):
// the model is a File or Blob (a dropped file, a fetch() response's blob) or
// any ByteSource; the GPU is navigator.gpu unless one is passed.

import { ClawError } from '../errors';
import { BlobSource } from '../gguf/source';
import { ConcatSource } from '../gguf/split';
import type { ByteSource } from '../gguf/types';
import { openEngine, type CreateEngineBaseOptions, type WebClawEngine } from './engine';

export interface CreateEngineOptions extends CreateEngineBaseOptions {
  /** The GGUF model: a File or Blob, the parts of a split model in order (name-00001-of-00003.gguf, ...), or a ByteSource (random-access reads). */
  model: Blob | Blob[] | ByteSource;
}

/** Loads the model and resolves with the engine once it is ready (progress through onProgress). */
export async function createEngine(options: CreateEngineOptions): Promise<WebClawEngine> {
  const gpu = options.gpu ?? (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) {
    throw new ClawError('clw-init-fail', 'WebGPU is not available here', {
      fix: 'Use a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows) over https or localhost.',
    });
  }
  const { model, ...rest } = options;
  return openEngine(toSource(model), gpu, rest, false);
}

export function toSource(model: unknown): ByteSource {
  if (isBlob(model)) return new BlobSource(model);
  // A split model's parts read as one file, in order, named by the first.
  if (Array.isArray(model) && model.length > 0 && model.every(isBlob)) return new ConcatSource(model.map((part) => new BlobSource(part)), model[0] instanceof File ? model[0].name : undefined);
  if (isByteSource(model)) return model;
  throw new ClawError('clw-bad-request', '"model" must be a File, a Blob, the parts of a split model (Blobs, in order) or a ByteSource', {
    fix: 'Pass the .gguf file the user picked (a File), or a Blob of its bytes.',
    details: { param: 'model' },
  });
}

function isBlob(v: unknown): v is Blob {
  return typeof Blob !== 'undefined' && v instanceof Blob;
}

function isByteSource(v: unknown): v is ByteSource {
  return typeof v === 'object' && v !== null && typeof (v as ByteSource).read === 'function' && typeof (v as ByteSource).size === 'number';
}
