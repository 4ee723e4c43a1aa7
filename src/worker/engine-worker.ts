// The page's engine worker: exactly what an embedder writes (README,
// "In a Web Worker"). The page reaches it through createWorkerEngine, the
// same path as any library user; one worker per loaded model, so that a
// cancelled load or a new model frees everything by ending the worker.

import { exposeEngine } from './engine-host';

exposeEngine();
