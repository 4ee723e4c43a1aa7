// The models: the library of stored files, the compatibility report of the
// selected one (read by the header worker, nothing loaded), loading it into
// its own engine worker through the library's createWorkerEngine, and the
// saved remote server, which answers whenever no model is loaded here.

import { createWorkerEngine } from '../api/worker-engine';
import type { WebClawEngine } from '../api/engine';
import { ClawError, toClawError } from '../errors';
import type { ModelInfo } from '../engine/types';
import { WorkerClient } from '../worker/client';
import { quantMix, type FileDetails } from '../worker/file-details';
import { ModelLibrary, type ModelFile, type ModelRecord } from '../worker/library';
import { orderSplitParts, splitPartOf } from '../gguf/split';
import { CompatView } from './compat-view';
import { byTestId } from './dom';
import { wireFileDrop } from './file-drop';
import { formatBytes } from './format';
import { LibraryView } from './library-view';
import { LoadView } from './load-view';
import { MetadataView } from './metadata-view';
import type { Page } from './page';
import { RemotePanel } from './remote-panel';
import type { RemoteEngine, RemoteSettings } from './remote-server';
import { UnstoredModels } from './unstored';

export class ModelControl {
  private readonly compat = new CompatView();
  private readonly loadView = new LoadView();
  private readonly library = new ModelLibrary();
  private readonly unstored = new UnstoredModels();
  private readonly libraryView = new LibraryView({ open: (r) => void this.openModel(r), remove: (r) => void this.removeModel(r) });
  private readonly metadata = new MetadataView(() => this.selectedDetails());
  private readonly remotePanel: RemotePanel;
  private readonly fileInput = byTestId<HTMLInputElement>('model-file-input');
  private readonly loadButton = byTestId<HTMLButtonElement>('load-button');

  /** The header worker: compatibility reports and metadata before loading. */
  private worker: WorkerClient | undefined;
  /** The loaded model, in its own worker, through the public worker engine. */
  private engine: { engine: WebClawEngine; worker: Worker } | undefined;
  /** The saved remote server while it answers: from the start, and again when no model is loaded here (a load failed or was cancelled, the model was removed) or the person asks for it. */
  private remote: RemoteEngine | undefined;
  /** Rejects the running load when the person cancels it. */
  private cancelLoad: ((e: ClawError) => void) | undefined;

  constructor(
    private readonly page: Page,
    remoteSettings: RemoteSettings | undefined,
  ) {
    this.remotePanel = new RemotePanel(remoteSettings, { onError: (e) => page.banner.show(e), onUseSaved: () => void this.switchToRemote() });
    wireFileDrop(byTestId('drop-zone'), this.fileInput, (files) => this.addFiles(files));
    this.loadButton.addEventListener('click', () => void this.loadSelected());
    this.loadView.cancelButton.addEventListener('click', () => this.cancelLoading());
  }

  /** Starts the header worker; a failure goes to the banner (the page still lists and chats). */
  startHeaderWorker(): void {
    try {
      this.worker = WorkerClient.start();
    } catch (e) {
      this.page.banner.show(e);
    }
  }

  render(idle: boolean): void {
    const { state } = this.page;
    this.loadButton.disabled = !idle || !state.selected || !state.report || state.report.verdict === 'will-not-run';
    this.fileInput.disabled = state.busy === 'loading';
    const unstoredRecords = this.unstored.records;
    this.libraryView.render([...unstoredRecords, ...state.records], state.selected?.id, state.loaded?.id, new Set(unstoredRecords.map((r) => r.id)));
  }

  async refreshLibrary(): Promise<void> {
    this.page.state.records = await this.library.list();
    this.page.render();
  }

  /** What answers now: the model loaded here, or the remote server. */
  backend(): RemoteEngine | WebClawEngine {
    const answering = this.engine?.engine ?? this.remote;
    if (!answering) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first, or save a remote server in the settings.' });
    return answering;
  }

  /** The model loaded here, if one is. */
  localEngine(): WebClawEngine | undefined {
    return this.engine?.engine;
  }

  /** Reads the header and shows the compatibility report; loads nothing. */
  openModel(record: ModelRecord): Promise<void> {
    const { page } = this;
    return page.act('inspecting', async () => {
      page.state.selected = record;
      page.state.report = undefined;
      this.compat.showPending(record.name);
      this.metadata.reset(false);
      page.render();
      try {
        page.state.report = await this.requireWorker().inspect(await this.fileOf(record), page.settings.loadOptions());
        this.compat.show(page.state.report, page.state.probe);
        this.metadata.reset(true);
      } catch (e) {
        this.compat.clear();
        throw e;
      }
      if (!record.architecture) {
        const mix = quantMix(page.state.report.tensorTypes);
        await this.library.describe(record.id, { architecture: page.state.report.architecture, quantMix: mix }).catch(() => undefined);
        await this.refreshLibrary();
      }
    });
  }

  /** The saved remote server answers (when one is saved and it is reachable; else the panel and the banner say why). */
  async useSavedRemote(): Promise<void> {
    try {
      const connected = await this.remotePanel.connect();
      if (connected) this.answerWithRemote(connected);
    } catch (e) {
      this.page.banner.show(e);
    }
  }

  private requireWorker(): WorkerClient {
    if (!this.worker) throw new ClawError('clw-init-fail', 'the engine worker could not be started', { fix: 'Use a browser with module Web Workers (Chrome, Edge, Firefox or Safari, recent versions).' });
    return this.worker;
  }

  /** A model's bytes (a File, or a split model's parts): kept for this tab, or from the library. */
  private async fileOf(record: ModelRecord): Promise<ModelFile> {
    return (this.unstored.get(record.id) ?? (await this.library.get(record.id))).file;
  }

  /** The selected file's metadata and tensor table, for the viewer; a failure goes to the banner. */
  private async selectedDetails(): Promise<FileDetails | undefined> {
    const { selected } = this.page.state;
    if (!selected) return undefined;
    try {
      return await this.requireWorker().details(await this.fileOf(selected));
    } catch (e) {
      this.page.banner.show(e);
      return undefined;
    }
  }

  /**
   * Stores dropped files and opens the last: several files named like the parts
   * of a split model (name-00001-of-00003.gguf) become one model.
   */
  private async addFiles(files: FileList | null | undefined): Promise<void> {
    const list = [...(files ?? [])];
    if (list.length === 0) return;
    let record: ModelRecord | undefined;
    await this.page.act('inspecting', async () => {
      const models: { file: ModelFile; name: string }[] =
        list.length > 1 && list.some((f) => splitPartOf(f.name))
          ? [(({ base, parts }) => ({ file: parts, name: `${base}.gguf` }))(orderSplitParts(list))]
          : list.map((f) => ({ file: f, name: f.name || 'model.gguf' }));
      for (const model of models) record = await this.store(model.file, model.name);
      // Ask once that the browser keep what is stored, instead of clearing it when space runs short.
      void navigator.storage?.persist?.().catch(() => false);
      await this.refreshLibrary();
    });
    if (record) await this.openModel(record);
  }

  /** Stores a model; when the browser refuses, the worker keeps it for this tab and its entry says so. */
  private async store(file: ModelFile, name: string): Promise<ModelRecord> {
    try {
      return await this.library.add(file, name);
    } catch (e) {
      // What is already stored stays; this file still runs until the tab closes.
      console.warn(toClawError(e).message);
      return this.unstored.keep(file, name);
    }
  }

  private loadSelected(): Promise<void> {
    const { page } = this;
    const record = page.state.selected;
    if (!record) return Promise.resolve();
    return page.act('loading', async () => {
      const options = page.settings.loadOptions();
      this.loadView.begin(record.name);
      await this.unloadEngine();
      this.remote = undefined;
      page.state.loaded = undefined;
      page.state.info = undefined;
      const cancelled = new Promise<never>((_, reject) => (this.cancelLoad = reject));
      const started = startEngineWorker();
      try {
        const model = await this.fileOf(record);
        const loaded = await Promise.race([createWorkerEngine(started, { ...options, kernels: page.settings.kernelOptions(), model, onProgress: (p) => this.loadView.onProgress(p) }), cancelled]);
        this.engine = { engine: loaded, worker: started };
        this.remotePanel.standBy();
        const info = loaded.info;
        page.state.loaded = record;
        page.state.info = info;
        this.loadView.done(
          `Loaded ${record.name}: ${info.architecture}, ${info.nLayers} layers, context ${info.ctxSize}, ` +
            `${formatBytes(info.gpuBytesPeak)} on the GPU${info.budgetBytes ? ` (budget ${formatBytes(info.budgetBytes)})` : ''}, in ${Math.round(info.loadMs)} ms.` +
            matvecSearchNote(info),
        );
      } catch (e) {
        // The worker, its GPU device and everything allocated on it go away.
        started.terminate();
        const err = toClawError(e);
        this.loadView.failed(err.code === 'clw-aborted' ? 'Loading cancelled; nothing stays on the GPU.' : 'Not loaded.');
        // Nothing is loaded here: the saved remote server answers again.
        await this.useSavedRemote();
        if (err.code !== 'clw-aborted') throw err;
      } finally {
        this.cancelLoad = undefined;
      }
    });
  }

  /** Cancels a load: its worker ends, and with it the GPU device and everything allocated on it. */
  private cancelLoading(): void {
    this.cancelLoad?.(new ClawError('clw-aborted', 'loading was cancelled'));
  }

  /** Frees the loaded model and ends its worker. */
  private async unloadEngine(): Promise<void> {
    const current = this.engine;
    this.engine = undefined;
    if (!current) return;
    await current.engine.unload().catch(() => undefined);
    current.worker.terminate();
  }

  /** "Use this server" on the saved one: once it answers, the model loaded here is freed and the server takes over. */
  private switchToRemote(): Promise<void> {
    return this.page.act('loading', async () => {
      const connected = await this.remotePanel.connect();
      if (!connected) return;
      await this.unloadEngine();
      this.loadView.clear();
      this.answerWithRemote(connected);
    });
  }

  private answerWithRemote(connected: RemoteEngine): void {
    this.remote = connected;
    this.page.state.loaded = { id: `remote:${connected.origin}`, name: `${connected.modelId} at ${connected.origin}`, size: 0, addedAt: 0 };
    this.page.state.info = undefined;
    this.page.render();
  }

  private async removeModel(record: ModelRecord): Promise<void> {
    const { state } = this.page;
    await this.page.act('inspecting', async () => {
      if (state.loaded?.id === record.id) {
        await this.unloadEngine();
        state.loaded = undefined;
        state.info = undefined;
        this.loadView.clear();
        await this.useSavedRemote();
      }
      if (state.selected?.id === record.id) {
        state.selected = undefined;
        state.report = undefined;
        this.compat.clear();
        this.metadata.reset(false);
      }
      if (this.unstored.has(record.id)) {
        this.unstored.forget(record.id);
      } else {
        await this.library.remove(record.id);
      }
      await this.refreshLibrary();
    });
  }
}

/** The engine worker bundled by Vite: the library's exposeEngine(), as an embedder writes it. */
function startEngineWorker(): Worker {
  return new Worker(new URL('../worker/engine-worker.ts', import.meta.url), { type: 'module', name: 'webclaw-engine' });
}

/** What the matvec search at load chose (the "Decode kernels: measure at load" setting), or ''. */
function matvecSearchNote(info: ModelInfo): string {
  const r = info.matvecTuning;
  if (!r) return '';
  const timed = r.candidates.filter((c) => c.ms !== null).length;
  const at = r.memory?.measuredAt;
  if (at) return ` Decode matvec layout: ${r.chosen}, remembered from its measurement on this GPU at ${new Date(at).toLocaleString()} (${timed} of ${r.candidates.length} layouts timed in ${Math.round(r.memory!.searchMs!)} ms).`;
  const kept = !r.memory ? '' : r.memory.error ? `; ${r.memory.error}` : `; remembered for this GPU and model shape${r.memory.replaced ? `, replacing the measurement of ${new Date(r.memory.replaced).toLocaleString()}` : ''}`;
  return ` Decode matvec layout: ${r.chosen}, measured at load (${timed} of ${r.candidates.length} layouts timed in ${Math.round(r.tookMs)} ms${kept}).`;
}
