// The `webclaw` package, Node.js entry: the browser entry's surface, with a
// createEngine that also takes a file path and finds Dawn (`webgpu`) itself.
/// <reference types="@webgpu/types" preserve="true" />

export { createEngine, type CreateNodeEngineOptions as CreateEngineOptions } from './api/create-engine-node';
export { createWorkerEngine, type CreateWorkerEngineOptions } from './api/worker-engine';
export { exposeEngine, type ExposeEngineOptions } from './worker/engine-host';
export * from './public';
export { defaultMatvecCachePath, fileMatvecStore } from './gpu/matvec-memory-node';
