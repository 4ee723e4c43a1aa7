// What crosses the page <-> header-worker boundary (src/worker/worker.ts):
// the questions the page asks about a file before, or without, loading it.
// Loading and chatting go through the public worker engine instead
// (createWorkerEngine, engine-protocol.ts). comlink does the plumbing; every
// call answers with an Outcome instead of throwing, because comlink turns a
// thrown error into a plain Error and the ClawError code would be lost; the
// page client rebuilds the ClawError.

import type { SerializedClawError } from '../errors';
import type { CompatibilityReport, LoadOptions } from '../engine/types';
import type { FileDetails } from './file-details';
import type { ModelFile } from './library';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SerializedClawError };

export interface WorkerApi {
  /** Reads the header of a model file and reports whether it will run on this GPU; loads nothing. */
  inspect(model: ModelFile, options?: LoadOptions): Promise<Outcome<CompatibilityReport>>;
  /** Every metadata key (long arrays cut) and the tensor table of a model file's header. */
  details(model: ModelFile): Promise<Outcome<FileDetails>>;
}
