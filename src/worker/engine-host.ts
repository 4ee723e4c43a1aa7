// The worker's end of createWorkerEngine: a WebClawEngine behind comlink.
// In the worker script: `import { exposeEngine } from 'webclaw'; exposeEngine();`

import { expose, type Endpoint } from 'comlink';
import { ClawError, toClawError } from '../errors';
import { createEngine } from '../api/create-engine';
import type { WebClawEngine } from '../api/engine';
import type { CompletionStream } from '../api/types';
import type { LoadOptions, LoadProgress } from '../engine/types';
import type { GpuOpsOptions } from '../gpu/ops';
import type { EngineHostApi, StreamMessage } from './engine-protocol';
import { notify, settle } from './service';

export interface ExposeEngineOptions {
  /** The WebGPU entry point; navigator.gpu by default. */
  gpu?: GPU;
}

class EngineHost implements EngineHostApi {
  private engine: WebClawEngine | null = null;
  private readonly running = new Map<number, AbortController>();

  constructor(private readonly options: ExposeEngineOptions) {}

  load(model: Blob | Blob[], options: LoadOptions & { kernels?: GpuOpsOptions }, onProgress?: (p: LoadProgress) => void) {
    return settle(async () => {
      await this.engine?.unload();
      this.engine = null;
      this.engine = await createEngine({ ...options, gpu: this.options.gpu, model, onProgress: onProgress && ((p) => notify(onProgress, p)) });
      return { info: this.engine.info, modelId: this.engine.modelId };
    });
  }

  chat: EngineHostApi['chat'] = (id, params, onStream) => this.request(id, onStream, (signal) => this.loaded().chat.completions.create({ ...params, signal }));

  completion: EngineHostApi['completion'] = (id, params, onStream) => this.request(id, onStream, (signal) => this.loaded().completions.create({ ...params, signal }));

  async abort(id: number): Promise<void> {
    this.running.get(id)?.abort();
  }

  compatibility() {
    return settle(() => this.loaded().compatibility());
  }

  gpuBytesInUse() {
    // A reading, not a request: it does not wait behind a running generation.
    return settle(() => this.loaded().gpuBytesInUse());
  }

  unload() {
    return settle(async () => {
      for (const c of this.running.values()) c.abort();
      await this.engine?.unload();
      this.engine = null;
    });
  }

  private loaded(): WebClawEngine {
    if (!this.engine) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Create the worker engine with a model first.' });
    return this.engine;
  }

  private request<Whole, Chunk>(id: number, onStream: (m: StreamMessage<Chunk>) => void, create: (signal: AbortSignal) => Promise<Whole | CompletionStream<Chunk>>) {
    const controller = new AbortController();
    this.running.set(id, controller);
    return settle(async () => {
      try {
        const result = await create(controller.signal);
        if (!isStream<Chunk>(result)) return result;
        notify(onStream, { type: 'start' });
        // Chunks go out as they come, whether or not the page reads them: the engine never waits on the page.
        try {
          for await (const chunk of result) notify(onStream, { type: 'chunk', chunk });
          notify(onStream, { type: 'end' });
        } catch (e) {
          notify(onStream, { type: 'end', error: toClawError(e).toJSON() });
        }
        return null;
      } finally {
        this.running.delete(id);
      }
    });
  }
}

function isStream<Chunk>(v: unknown): v is CompletionStream<Chunk> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}

/** Serves a WebClawEngine to createWorkerEngine over `endpoint` (the worker's global scope by default). */
export function exposeEngine(endpoint?: Endpoint, options: ExposeEngineOptions = {}): void {
  expose(new EngineHost(options), endpoint);
}
