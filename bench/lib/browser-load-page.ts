// The browser side of bench/load.ts (bundled at bench time, run both as the
// page and as its worker): as in the app, a worker keeps the model in
// IndexedDB (fetched from the bench server), reads it back as the Blob
// IndexedDB gives (disk-backed, as the app's library reads a dropped file)
// and loads it with the engine on the worker's WebGPU, once per setting.

import { createStore, get, set } from 'idb-keyval';
import { ClawEngine, type EngineOptions } from '../../src/engine/engine';
import { BlobSource } from '../../src/gguf/source';

/** The engine's read settings one load runs with (absent: the default). */
export type LoadSetting = Pick<EngineOptions, 'readAheadBytes' | 'readChunkBytes'>;

interface LoadRequest {
  url: string;
  settings: LoadSetting[];
  ctxSize: number;
}
type LoadResult = { adapter: string; ms: number[] } | { error: string };

async function loadTimes({ url, settings, ctxSize }: LoadRequest): Promise<LoadResult> {
  const store = createStore('webclaw-load-bench', 'files');
  await set('model', await (await fetch(url)).blob(), store);
  const blob = (await get('model', store)) as Blob;
  const ms: number[] = [];
  let adapter = '';
  for (const setting of settings) {
    const engine = await ClawEngine.create(setting);
    adapter = engine.adapterDescription;
    try {
      const t = performance.now();
      await engine.load(new BlobSource(blob, 'model.gguf'), { ctxSize });
      ms.push(performance.now() - t);
    } finally {
      await engine.destroy();
    }
  }
  return { adapter, ms };
}

if (typeof document === 'undefined') {
  // The worker.
  self.onmessage = (e: MessageEvent<LoadRequest>) =>
    loadTimes(e.data).then(
      (r) => self.postMessage(r),
      (err: unknown) => self.postMessage({ error: err instanceof Error ? err.message : String(err) }),
    );
} else {
  const inWorker = (request: LoadRequest) =>
    new Promise<{ adapter: string; ms: number[] }>((resolve, reject) => {
      const worker = new Worker(import.meta.url, { type: 'module' });
      worker.onmessage = (e: MessageEvent<LoadResult>) => {
        worker.terminate();
        if ('error' in e.data) reject(new Error(e.data.error));
        else resolve(e.data);
      };
      worker.postMessage(request);
    });
  Object.assign(globalThis, { loadTimes: inWorker, loadReady: true });
}
