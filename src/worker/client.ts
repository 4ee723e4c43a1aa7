// The page's handle on the header worker (worker.ts): the same calls as
// WorkerApi, but they throw ClawError (rebuilt from the serialized form)
// instead of returning an Outcome, and they fail fast with clw-llm-crash if
// the worker itself dies, instead of hanging forever.

import { wrap, type Remote } from 'comlink';
import { ClawError } from '../errors';
import type { CompatibilityReport, LoadOptions } from '../engine/types';
import type { FileDetails } from './file-details';
import type { ModelFile } from './library';
import type { Outcome, WorkerApi } from './protocol';

export class WorkerClient {
  private readonly remote: Remote<WorkerApi>;
  private readonly died: Promise<never>;

  constructor(worker: Worker) {
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

  /** Starts the header worker bundled by Vite. */
  static start(): WorkerClient {
    return new WorkerClient(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'webclaw-header' }));
  }

  inspect(model: ModelFile, options: LoadOptions = {}): Promise<CompatibilityReport> {
    return this.call(this.remote.inspect(model, options));
  }

  details(model: ModelFile): Promise<FileDetails> {
    return this.call(this.remote.details(model));
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
