// The object a library user holds: one loaded model behind the OpenAI API.
// createEngine (main thread, Node) and createWorkerEngine (through a Web
// Worker) both give a WebClawEngine.

import { ClawEngine, type EngineOptions } from '../engine/engine';
import type { CompatibilityReport, LoadOptions, LoadProgress, ModelInfo } from '../engine/types';
import type { ByteSource } from '../gguf/types';
import { runChat, runCompletion } from './run';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionCreateParams, Completion, CompletionCreateParams, CompletionStream, ModelObject } from './types';

export interface ChatCompletions {
  create(params: ChatCompletionCreateParams & { stream: true }): Promise<CompletionStream<ChatCompletionChunk>>;
  create(params: ChatCompletionCreateParams & { stream?: false | null }): Promise<ChatCompletion>;
  create(params: ChatCompletionCreateParams): Promise<ChatCompletion | CompletionStream<ChatCompletionChunk>>;
}

export interface Completions {
  create(params: CompletionCreateParams & { stream: true }): Promise<CompletionStream<Completion>>;
  create(params: CompletionCreateParams & { stream?: false | null }): Promise<Completion>;
  create(params: CompletionCreateParams): Promise<Completion | CompletionStream<Completion>>;
}

export interface WebClawEngine {
  /** The loaded model: architecture, context, memory plan, adapter. */
  readonly info: ModelInfo;
  /** The model's id in responses (its file name). */
  readonly modelId: string;
  readonly chat: { readonly completions: ChatCompletions };
  readonly completions: Completions;
  readonly models: { list(): Promise<{ object: 'list'; data: ModelObject[] }> };
  /** The compatibility report of the loaded file on this GPU (header only). */
  compatibility(): Promise<CompatibilityReport>;
  /** GPU bytes the engine holds now: weights, the KV cache as grown, work buffers (compare with info.budgetBytes). */
  gpuBytesInUse(): Promise<number>;
  /** Frees the model and the GPU device; later requests fail with clw-bad-request. */
  unload(): Promise<void>;
}

export interface CreateEngineBaseOptions extends LoadOptions, EngineOptions {
  onProgress?: (p: LoadProgress) => void;
}

/**
 * Creates a ClawEngine on `gpu`, loads `source` and wraps it. On failure
 * everything created is freed (and the source closed when `closeSource`).
 */
export async function openEngine(source: ByteSource, gpu: GPU, options: CreateEngineBaseOptions, closeSource: boolean): Promise<WebClawEngine> {
  const { onProgress, streamCacheBytes, kernels, precompile, decodePass, readPacing, readAheadBytes, readChunkBytes, gpu: _chosen, ...loadOptions } = options;
  let engine: ClawEngine | null = null;
  try {
    engine = await ClawEngine.create({ gpu, streamCacheBytes, kernels, precompile, decodePass, readPacing, readAheadBytes, readChunkBytes });
    const info = await engine.load(source, loadOptions, onProgress);
    return wrapEngine(engine, source, loadOptions, info, closeSource);
  } catch (e) {
    await engine?.destroy().catch(() => undefined);
    if (closeSource) await source.close?.();
    throw e;
  }
}

function wrapEngine(engine: ClawEngine, source: ByteSource, loadOptions: LoadOptions, info: ModelInfo, closeSource: boolean): WebClawEngine {
  const modelId = source.name ?? 'model.gguf';
  let unloading: Promise<void> | null = null;
  return {
    info,
    modelId,
    chat: { completions: { create: ((params: ChatCompletionCreateParams) => runChat(engine, modelId, params)) as ChatCompletions['create'] } },
    completions: { create: ((params: CompletionCreateParams) => runCompletion(engine, modelId, params)) as Completions['create'] },
    models: modelList(modelId),
    compatibility: () => engine.inspect(source, loadOptions),
    gpuBytesInUse: async () => engine.allocator.liveBytes(),
    unload: () =>
      (unloading ??= (async () => {
        await engine.destroy();
        if (closeSource) await source.close?.();
      })()),
  };
}

/** The one-model list both engine kinds answer `models.list()` with. */
export function modelList(modelId: string): WebClawEngine['models'] {
  const created = Math.floor(Date.now() / 1000);
  return { list: async () => ({ object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'webclaw' }] }) };
}
