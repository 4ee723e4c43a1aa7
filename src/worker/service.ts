// The worker's logic, free of comlink and of the real engine so it can be
// tested in Node with a fake engine. worker.ts wires it to ClawEngine,
// BlobSource and comlink's expose().

import { toClawError } from '../errors';
import type { ByteSource } from '../gguf/types';
import type { CompatibilityReport, GenerateEvent, LoadOptions, LoadProgress, ModelInfo } from '../engine/types';
import { readGguf } from '../gguf/reader';
import { fileDetails, type FileDetails } from './file-details';
import type { ModelFile, ModelLibrary, ModelRecord } from './library';
import type { GenerateInput, GenerateSummary, Outcome, WorkerApi, WorkerGenerateOptions } from './protocol';
import { SerialQueue } from './serial-queue';

/** The part of ClawEngine the worker uses. */
export interface WorkerEngine {
  /** Options give the plan its budget and context size. */
  inspect(source: ByteSource, options?: LoadOptions): Promise<CompatibilityReport>;
  load(source: ByteSource, options?: LoadOptions, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  generate(input: GenerateInput, options?: WorkerGenerateOptions & { signal?: AbortSignal }): AsyncGenerator<GenerateEvent>;
  unload(): Promise<void>;
  /** The engine's buffer accounting, for the live GPU memory figure. */
  readonly allocator?: { liveBytes(): number };
}

export interface WorkerServiceDeps {
  library: Pick<ModelLibrary, 'list' | 'get'>;
  /** Creates the engine on first need (it needs a GPU device). */
  createEngine: () => Promise<WorkerEngine>;
  openSource: (file: ModelFile, record: ModelRecord) => ByteSource;
}

export class WorkerService implements WorkerApi {
  private readonly queue = new SerialQueue();
  private engine: Promise<WorkerEngine> | undefined;
  private currentGeneration: AbortController | undefined;
  private loadedSource: ByteSource | undefined;
  /** Files the browser would not store, kept until the tab closes. */
  private readonly unstored = new Map<string, { record: ModelRecord; file: ModelFile }>();

  constructor(private readonly deps: WorkerServiceDeps) {}

  listModels(): Promise<Outcome<ModelRecord[]>> {
    return settle(() => this.deps.library.list());
  }

  inspect(modelId: string, options: LoadOptions = {}): Promise<Outcome<CompatibilityReport>> {
    return settle(() =>
      this.queue.run(async () => {
        const engine = await this.getEngine();
        const source = await this.openStored(modelId);
        try {
          return await engine.inspect(source, options);
        } finally {
          await source.close?.();
        }
      }),
    );
  }

  keepUnstored(file: ModelFile, name: string, known?: ModelRecord): Promise<Outcome<ModelRecord>> {
    return settle(async () => {
      const size = Array.isArray(file) ? file.reduce((sum, part) => sum + part.size, 0) : file.size;
      const record: ModelRecord = known ?? { id: `unstored:${globalThis.crypto.randomUUID()}`, name, size, addedAt: Date.now(), ...(Array.isArray(file) ? { parts: file.length } : {}) };
      this.unstored.set(record.id, { record, file });
      return record;
    });
  }

  forgetUnstored(modelId: string): Promise<Outcome<void>> {
    return settle(async () => {
      this.unstored.delete(modelId);
    });
  }

  details(modelId: string): Promise<Outcome<FileDetails>> {
    // Header only, no GPU: outside the queue, so it answers while a reply streams.
    return settle(async () => {
      const source = await this.openStored(modelId);
      try {
        return fileDetails(await readGguf(source));
      } finally {
        await source.close?.();
      }
    });
  }

  load(modelId: string, options: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<Outcome<ModelInfo>> {
    return settle(() =>
      this.queue.run(async () => {
        const engine = await this.getEngine();
        const source = await this.openStored(modelId);
        await this.releaseSource();
        // The source stays open while the model is loaded: layers that do not
        // fit the budget stream from it.
        this.loadedSource = source;
        return engine.load(source, options, (p) => notify(onProgress, p));
      }),
    );
  }

  generate(input: GenerateInput, options: WorkerGenerateOptions, onEvent: (e: GenerateEvent) => void): Promise<Outcome<GenerateSummary>> {
    return settle(() =>
      this.queue.run(async () => {
        const engine = await this.getEngine();
        const controller = new AbortController();
        this.currentGeneration = controller;
        const summary: GenerateSummary = {};
        try {
          for await (const event of engine.generate(input, { ...options, signal: controller.signal })) {
            if (event.type === 'done') {
              summary.stats = event.stats;
              summary.reason = event.reason;
            }
            notify(onEvent, event);
          }
        } finally {
          if (this.currentGeneration === controller) this.currentGeneration = undefined;
        }
        return summary;
      }),
    );
  }

  async abort(): Promise<void> {
    this.currentGeneration?.abort();
  }

  unload(): Promise<Outcome<void>> {
    return settle(() =>
      this.queue.run(async () => {
        if (this.engine) await (await this.engine).unload();
        await this.releaseSource();
      }),
    );
  }

  gpuBytesInUse(): Promise<Outcome<number>> {
    // A reading, not a request: it does not wait behind a running generation.
    return settle(async () => (this.engine ? ((await this.engine).allocator?.liveBytes() ?? 0) : 0));
  }

  private getEngine(): Promise<WorkerEngine> {
    if (!this.engine) {
      const creating = this.deps.createEngine();
      this.engine = creating;
      // A failed start (no WebGPU) is not cached: the next request tries again.
      creating.catch(() => {
        if (this.engine === creating) this.engine = undefined;
      });
    }
    return this.engine;
  }

  private async openStored(modelId: string): Promise<ByteSource> {
    const { record, file } = this.unstored.get(modelId) ?? (await this.deps.library.get(modelId));
    return this.deps.openSource(file, record);
  }

  private async releaseSource(): Promise<void> {
    const source = this.loadedSource;
    this.loadedSource = undefined;
    await source?.close?.();
  }
}

/** Runs `action` and answers with an Outcome: a thrown error becomes its serialized ClawError. */
export async function settle<T>(action: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await action() };
  } catch (e) {
    return { ok: false, error: toClawError(e).toJSON() };
  }
}

/**
 * Calls a page callback without waiting for it: over comlink each call is a
 * message, and messages arrive in order, so the page sees every event before
 * the final answer. A page that went away must not break the generation.
 */
export function notify<T>(callback: (value: T) => unknown, value: T): void {
  try {
    void Promise.resolve(callback(value)).catch(() => undefined);
  } catch {
    // Same: a failing listener is the page's problem, not the engine's.
  }
}
