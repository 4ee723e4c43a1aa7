// What both package entries (src/index.ts, src/index-node.ts) export besides
// their own createEngine.

export { ClawError, ERROR_CODES, isClawError, type ClawErrorCode, type SerializedClawError } from './errors';
export type { WebClawEngine, ChatCompletions, Completions, CreateEngineBaseOptions } from './api/engine';
export type * from './api/types';
export { REQUEST_LIMITS } from './api/params';
export type { CompatibilityReport, GenerateStats, LoadOptions, LoadProgress, ModelInfo, ResponseFormat } from './engine/types';
export type { ByteSource } from './gguf/types';
export type { EngineOptions } from './engine/engine';
export type { GpuOpsOptions } from './gpu/ops';
export type { MatvecChoice, MatvecTuning, MatvecTuningCase } from './gpu/matvec-tuning';
export { indexedDbMatvecStore, memoryMatvecStore, type MatvecChoiceStore, type RememberedChoice } from './gpu/matvec-memory';
export type { MatvecAutotuneReport, MatvecCandidateTiming } from './gpu/matvec-autotune';
