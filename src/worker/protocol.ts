// What crosses the page <-> worker boundary. comlink does the plumbing; this
// file fixes the shape. Every call answers with an Outcome instead of
// throwing, because comlink turns a thrown error into a plain Error and the
// ClawError code would be lost; the page client rebuilds the ClawError.

import type { SerializedClawError } from '../errors';
import type {
  ChatMessage,
  CompatibilityReport,
  GenerateEvent,
  GenerateOptions,
  GenerateStats,
  LoadOptions,
  LoadProgress,
  ModelInfo,
} from '../engine/types';
import type { FileDetails } from './file-details';
import type { ModelFile, ModelRecord } from './library';

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: SerializedClawError };

/** Generate options without the AbortSignal, which cannot be cloned: use abort() instead. */
export type WorkerGenerateOptions = Omit<GenerateOptions, 'signal'>;

export type GenerateInput = string | ChatMessage[];

export interface GenerateSummary {
  /** Absent when the engine finished without a 'done' event (it should not). */
  stats?: GenerateStats;
  reason?: 'stop' | 'length' | 'abort';
}

export interface WorkerApi {
  listModels(): Promise<Outcome<ModelRecord[]>>;
  /** Reads the header of a stored model and reports whether it will run; loads nothing. */
  inspect(modelId: string, options?: LoadOptions): Promise<Outcome<CompatibilityReport>>;
  /**
   * Keeps a file the browser refused to store (private window, full disk) in
   * this worker's memory, for this tab only: it then inspects, loads and
   * chats like a stored one, under the record returned (or `record`, to hand
   * a kept file to a fresh worker under its old id).
   */
  keepUnstored(file: ModelFile, name: string, record?: ModelRecord): Promise<Outcome<ModelRecord>>;
  /** Drops a file kept by keepUnstored. */
  forgetUnstored(modelId: string): Promise<Outcome<void>>;
  /** Every metadata key (long arrays cut) and the tensor table of a stored model's header. */
  details(modelId: string): Promise<Outcome<FileDetails>>;
  load(modelId: string, options: LoadOptions, onProgress: (p: LoadProgress) => void): Promise<Outcome<ModelInfo>>;
  /** Streams events to onEvent and resolves when the generation is over. Requests queue. */
  generate(input: GenerateInput, options: WorkerGenerateOptions, onEvent: (e: GenerateEvent) => void): Promise<Outcome<GenerateSummary>>;
  /** Stops the running generation, if any; it then resolves with reason 'abort'. */
  abort(): Promise<void>;
  unload(): Promise<Outcome<void>>;
  /** GPU bytes the engine holds now (weights, KV cache as grown, work buffers); 0 before any model. */
  gpuBytesInUse(): Promise<Outcome<number>>;
}
