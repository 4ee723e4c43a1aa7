// The Web Worker entry: the engine, the GPU and the model bytes live here so
// the page stays responsive while a model loads and tokens are produced.
// The page talks to it through comlink (see client.ts).

import { expose } from 'comlink';
import { ClawEngine } from '../engine/engine';
import { BlobSource } from '../gguf/source';
import { ModelLibrary } from './library';
import { WorkerService } from './service';

const service = new WorkerService({
  library: new ModelLibrary(),
  createEngine: () => ClawEngine.create(),
  openSource: (file, record) => new BlobSource(file, record.name),
});

expose(service);
