// createWorkerEngine: the WebClawEngine interface with the engine in a Web
// Worker (the worker script calls exposeEngine()). The page keeps only
// chunks and plain objects; the GPU and the model bytes live in the worker.
// Errors arrive as ClawError with their codes; a worker that dies fails
// every pending and later call with clw-llm-crash instead of hanging.

import { proxy, wrap, type Endpoint } from 'comlink';
import { ClawError } from '../errors';
import type { LoadOptions, LoadProgress } from '../engine/types';
import type { GpuOpsOptions } from '../gpu/ops';
import type { EngineHostApi, StreamMessage } from '../worker/engine-protocol';
import type { Outcome } from '../worker/protocol';
import { modelList, type ChatCompletions, type Completions, type WebClawEngine } from './engine';
import { ChunkStream } from './stream';
import type { CompletionParamsBase } from './types';

export interface CreateWorkerEngineOptions extends LoadOptions {
  /** The GGUF model, a File or Blob, or a split model's parts in order (sent to the worker; a File is not copied). */
  model: Blob | Blob[];
  /** Kernel choices for the worker's engine (EngineOptions.kernels), e.g. `{ matvec: 'auto' }`. */
  kernels?: GpuOpsOptions;
  onProgress?: (p: LoadProgress) => void;
}

export async function createWorkerEngine(worker: Worker | Endpoint, options: CreateWorkerEngineOptions): Promise<WebClawEngine> {
  const remote = wrap<EngineHostApi>(worker);
  const died = deathOf(worker);
  const call = async <T>(pending: Promise<Outcome<T>>): Promise<T> => {
    const outcome = await Promise.race([pending, died]);
    if (!outcome.ok) throw ClawError.fromJSON(outcome.error);
    return outcome.value;
  };
  const { model, onProgress, ...loadOptions } = options;
  const { info, modelId } = await call(remote.load(model, loadOptions, onProgress ? proxy(onProgress) : undefined));
  let nextId = 1;

  function request<Whole, Chunk>(kind: 'chat' | 'completion', params: CompletionParamsBase): Promise<Whole | ChunkStream<Chunk>> {
    const { signal, ...rest } = params;
    const id = nextId++;
    const abort = () => void remote.abort(id);
    if (signal?.aborted) return Promise.reject(new ClawError('clw-aborted', 'the request was cancelled'));
    signal?.addEventListener('abort', abort, { once: true });
    const stream = new ChunkStream<Chunk>();
    stream.controller.signal.addEventListener('abort', abort, { once: true });
    return new Promise<Whole | ChunkStream<Chunk>>((resolve, reject) => {
      const onStream = (m: StreamMessage<Chunk>) => {
        if (m.type === 'start') resolve(stream);
        else if (m.type === 'chunk') stream.push(m.chunk);
        else {
          signal?.removeEventListener('abort', abort);
          stream.end(m.error ? ClawError.fromJSON(m.error) : undefined);
        }
      };
      const pending = (remote[kind] as (id: number, p: object, cb: unknown) => Promise<Outcome<Whole | null>>)(id, rest, proxy(onStream));
      call(pending).then(
        (whole) => {
          if (whole !== null) {
            signal?.removeEventListener('abort', abort);
            resolve(whole);
          }
        },
        (e) => {
          signal?.removeEventListener('abort', abort);
          stream.end(e);
          reject(e);
        },
      );
    });
  }

  const models = modelList(modelId);
  return {
    info,
    modelId,
    chat: { completions: { create: ((params) => request('chat', params)) as ChatCompletions['create'] } },
    completions: { create: ((params) => request('completion', params)) as Completions['create'] },
    models,
    compatibility: () => call(remote.compatibility()),
    gpuBytesInUse: () => call(remote.gpuBytesInUse()),
    unload: () => call(remote.unload()),
  };
}

/** Rejects with clw-llm-crash when a Worker fails; never settles for other endpoints. */
function deathOf(worker: Worker | Endpoint): Promise<never> {
  const died = new Promise<never>((_, reject) => {
    if (typeof Worker === 'undefined' || !(worker instanceof Worker)) return;
    const crashed = (reason: string) =>
      reject(new ClawError('clw-llm-crash', `the engine worker stopped: ${reason}`, { fix: 'Create the worker engine again; if it happens again, report it with the browser version and the model file name.' }));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      crashed(event.message || 'the worker script failed to start');
    });
    worker.addEventListener('messageerror', () => crashed('a message from the worker could not be read'));
  });
  died.catch(() => undefined);
  return died;
}
