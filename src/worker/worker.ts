// The Web Worker entry: the engine, the GPU and the model bytes live here so
// the page stays responsive while a model loads and tokens are produced.
// The page talks to it through comlink (see client.ts).

import { expose } from 'comlink';
import { ClawEngine } from '../engine/engine';
import { BlobSource } from '../gguf/source';
import { ConcatSource } from '../gguf/split';
import { ModelLibrary } from './library';
import { WorkerService } from './service';

const service = new WorkerService({
  library: new ModelLibrary(),
  createEngine: () => ClawEngine.create(),
  // A split model's parts read as one file, in order.
  openSource: (file, record) => (Array.isArray(file) ? new ConcatSource(file.map((part) => new BlobSource(part)), record.name) : new BlobSource(file, record.name)),
});

expose(service);
