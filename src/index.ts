// The `webclaw` package, browser entry: load a GGUF model on the user's GPU
// and talk to it with the OpenAI API. Only what is exported here is the
// public surface; the allocator, kernels and counters are not.
/// <reference types="@webgpu/types" preserve="true" />

export { createEngine, type CreateEngineOptions } from './api/create-engine';
export { createWorkerEngine, type CreateWorkerEngineOptions } from './api/worker-engine';
export { exposeEngine, type ExposeEngineOptions } from './worker/engine-host';
export * from './public';
