// The page's handle on the worker: the same calls as WorkerApi, but they
// throw ClawError (rebuilt from the serialized form) instead of returning an
// Outcome, and they fail fast with clw-llm-crash if the worker itself dies,
// instead of hanging forever.

import { proxy, releaseProxy, wrap, type Remote } from 'comlink';
import { ClawError } from '../errors';
import type { CompatibilityReport, GenerateEvent, LoadOptions, LoadProgress, ModelInfo } from '../engine/types';
import type { FileDetails } from './file-details';
import type { ModelFile, ModelRecord } from './library';
import type { GenerateInput, GenerateSummary, Outcome, WorkerApi, WorkerGenerateOptions } from './protocol';

export class WorkerClient {
  private readonly remote: Remote<WorkerApi>;
  private readonly died: Promise<never>;

  constructor(private readonly worker: Worker) {
    this.remote = wrap<WorkerApi>(worker);
    this.died = new Promise<never>((_, reject) => {
      worker.addEventListener('error', (event) => {
        event.preventDefault();
        reject(workerCrashed(event.message || 'the worker script failed to start'));
      });
      worker.addEventListener('messageerror', () => reject(workerCrashed('a message from the worker could not be read')));
    });
    // Nobody may be waiting when the worker dies; the next call reports it.
    this.died.catch(() => undefined);
  }

  /** Starts the worker bundled by Vite. */
  static start(): WorkerClient {
    return new WorkerClient(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webclaw-engine' }));
  }

  listModels(): Promise<ModelRecord[]> {
    return this.call(this.remote.listModels());
  }

  inspect(modelId: string, options: LoadOptions = {}): Promise<CompatibilityReport> {
    return this.call(this.remote.inspect(modelId, options));
  }

  keepUnstored(file: ModelFile, name: string, record?: ModelRecord): Promise<ModelRecord> {
    return this.call(this.remote.keepUnstored(file, name, record));
  }

  forgetUnstored(modelId: string): Promise<void> {
    return this.call(this.remote.forgetUnstored(modelId));
  }

  details(modelId: string): Promise<FileDetails> {
    return this.call(this.remote.details(modelId));
  }

  // Callbacks travel as comlink proxies; the worker releases its end when
  // the call's Remote is garbage collected.
  load(modelId: string, options: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<ModelInfo> {
    return this.call(this.remote.load(modelId, options, proxy(onProgress)));
  }

  /** Resolves when the generation is over; events arrive through onEvent first. */
  generate(input: GenerateInput, options: WorkerGenerateOptions, onEvent: (e: GenerateEvent) => void): Promise<GenerateSummary> {
    return this.call(this.remote.generate(input, options, proxy(onEvent)));
  }

  abort(): Promise<void> {
    return Promise.race([this.remote.abort(), this.died]);
  }

  unload(): Promise<void> {
    return this.call(this.remote.unload());
  }

  gpuBytesInUse(): Promise<number> {
    return this.call(this.remote.gpuBytesInUse());
  }

  terminate(): void {
    this.remote[releaseProxy]();
    this.worker.terminate();
  }

  private async call<T>(pending: Promise<Outcome<T>>): Promise<T> {
    const outcome = await Promise.race([pending, this.died]);
    if (!outcome.ok) throw ClawError.fromJSON(outcome.error);
    return outcome.value;
  }
}

function workerCrashed(reason: string): ClawError {
  return new ClawError('clw-llm-crash', `the engine worker stopped: ${reason}`, {
    fix: 'Reload the page. If it happens again, report it with the browser version and the model file name.',
  });
}
