// The header worker's logic, free of comlink and of the real engine so it
// can be tested in Node with a fake engine. worker.ts wires it to
// ClawEngine and comlink's expose(). It loads nothing: the page loads and
// chats through createWorkerEngine, in a worker of its own.

import { toClawError } from '../errors';
import type { ByteSource } from '../gguf/types';
import type { CompatibilityReport, LoadOptions } from '../engine/types';
import { readGguf } from '../gguf/reader';
import { toSource } from '../api/create-engine';
import { fileDetails, type FileDetails } from './file-details';
import type { ModelFile } from './library';
import type { Outcome, WorkerApi } from './protocol';

/** The part of ClawEngine the worker uses: the report needs the GPU's limits. */
export interface InspectingEngine {
  /** Options give the plan its budget and context size. */
  inspect(source: ByteSource, options?: LoadOptions): Promise<CompatibilityReport>;
}

export interface WorkerServiceDeps {
  /** Creates the engine on first need (it needs a GPU device). */
  createEngine: () => Promise<InspectingEngine>;
}

export class WorkerService implements WorkerApi {
  private engine: Promise<InspectingEngine> | undefined;

  constructor(private readonly deps: WorkerServiceDeps) {}

  inspect(model: ModelFile, options: LoadOptions = {}): Promise<Outcome<CompatibilityReport>> {
    return settle(async () => (await this.getEngine()).inspect(toSource(model), options));
  }

  details(model: ModelFile): Promise<Outcome<FileDetails>> {
    // Header only, no GPU.
    return settle(async () => fileDetails(await readGguf(toSource(model))));
  }

  private getEngine(): Promise<InspectingEngine> {
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
