// What crosses the boundary between createWorkerEngine (src/api/worker-engine.ts)
// and exposeEngine (src/worker/engine-host.ts). comlink carries the calls;
// results are Outcomes so ClawError codes survive the trip. A streamed
// request's chunks and its end travel through one callback, in order.

import type { SerializedClawError } from '../errors';
import type { CompatibilityReport, LoadOptions, ModelInfo } from '../engine/types';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams, Completion, CompletionCreateParams } from '../api/types';
import type { Outcome } from './protocol';

export type StreamMessage<Chunk> = { type: 'start' } | { type: 'chunk'; chunk: Chunk } | { type: 'end'; error?: SerializedClawError };

/** Request params without the AbortSignal, which cannot be cloned: the client calls abort(id). */
export type Remote<P> = Omit<P, 'signal'>;

export interface EngineHostApi {
  /** Loads the model (a File or Blob, or a split model's parts); progress through onProgress. */
  load(model: Blob | Blob[], options: LoadOptions & { kernels?: import('../gpu/ops').GpuOpsOptions }, onProgress?: (p: import('../engine/types').LoadProgress) => void): Promise<Outcome<{ info: ModelInfo; modelId: string }>>;
  /** Non-streaming: the whole response. Streaming: the response is null; chunks come through onStream. */
  chat(id: number, params: Remote<ChatCompletionCreateParams>, onStream: (m: StreamMessage<ChatCompletionChunk>) => void): Promise<Outcome<ChatCompletion | null>>;
  completion(id: number, params: Remote<CompletionCreateParams>, onStream: (m: StreamMessage<Completion>) => void): Promise<Outcome<Completion | null>>;
  abort(id: number): Promise<void>;
  compatibility(): Promise<Outcome<CompatibilityReport>>;
  gpuBytesInUse(): Promise<Outcome<number>>;
  unload(): Promise<Outcome<void>>;
}
