// The page: drop a GGUF file, see whether it runs, load it, chat with it.
// This module owns the page state and wires the views to the worker; the
// views render, the worker does the work, nothing here touches the GPU.

import './style.css';
import { ClawError, toClawError } from '../errors';
import type { ChatMessage, CompatibilityReport } from '../engine/types';
import { WorkerClient } from '../worker/client';
import { ModelLibrary, type ModelRecord } from '../worker/library';
import { ChatView } from './chat-view';
import { CompatView } from './compat-view';
import { byTestId } from './dom';
import { ErrorBanner } from './error-banner';
import { formatBytes } from './format';
import { probeWebGpu } from './gpu-probe';
import { LibraryView } from './library-view';
import { SettingsPanel } from './settings';

type Busy = 'idle' | 'inspecting' | 'loading' | 'generating';

const banner = new ErrorBanner();
const settings = new SettingsPanel();
const compat = new CompatView();
const chat = new ChatView();
const library = new ModelLibrary();
const libraryView = new LibraryView({ open: (r) => void openModel(r), remove: (r) => void removeModel(r) });

const ui = {
  gpuStatus: byTestId('gpu-status'),
  fileInput: byTestId<HTMLInputElement>('model-file-input'),
  dropZone: byTestId('drop-zone'),
  loadButton: byTestId<HTMLButtonElement>('load-button'),
  loadProgress: byTestId<HTMLProgressElement>('load-progress'),
  loadStatus: byTestId('load-status'),
  promptForm: byTestId<HTMLFormElement>('prompt-form'),
  promptInput: byTestId<HTMLTextAreaElement>('prompt-input'),
  sendButton: byTestId<HTMLButtonElement>('send-button'),
  stopButton: byTestId<HTMLButtonElement>('stop-button'),
  newChatButton: byTestId<HTMLButtonElement>('new-chat-button'),
  modelHint: byTestId('model-hint'),
};

const state = {
  busy: 'idle' as Busy,
  records: [] as ModelRecord[],
  selected: undefined as ModelRecord | undefined,
  report: undefined as CompatibilityReport | undefined,
  loaded: undefined as ModelRecord | undefined,
  /** The conversation so far, in chat mode. */
  messages: [] as ChatMessage[],
};

let worker: WorkerClient | undefined;

function render(): void {
  const idle = state.busy === 'idle';
  ui.loadButton.disabled = !idle || !state.selected || !state.report || state.report.verdict === 'will-not-run';
  ui.sendButton.disabled = !idle || !state.loaded;
  ui.stopButton.disabled = state.busy !== 'generating';
  ui.fileInput.disabled = state.busy === 'loading';
  ui.newChatButton.disabled = !idle || state.messages.length === 0;
  ui.modelHint.textContent = state.loaded ? `Talking to ${state.loaded.name}.` : 'Load a model to start.';
  document.body.dataset.busy = state.busy;
  libraryView.render(state.records, state.selected?.id, state.loaded?.id);
}

/** Runs a user action: one at a time, and every failure lands in the banner. */
async function act(busy: Busy, action: () => Promise<void>): Promise<void> {
  if (state.busy !== 'idle') return;
  state.busy = busy;
  banner.clear();
  render();
  try {
    await action();
  } catch (e) {
    banner.show(e);
  } finally {
    state.busy = 'idle';
    render();
  }
}

function requireWorker(): WorkerClient {
  if (!worker) throw new ClawError('clw-init-fail', 'the engine worker could not be started', { fix: 'Use a browser with module Web Workers (Chrome, Edge, Firefox or Safari, recent versions).' });
  return worker;
}

async function refreshLibrary(): Promise<void> {
  state.records = await library.list();
  render();
}

async function addFiles(files: FileList | File[] | null | undefined): Promise<void> {
  const file = files?.[0];
  if (!file) return;
  let record: ModelRecord | undefined;
  await act('inspecting', async () => {
    record = await library.add(file);
    await refreshLibrary();
  });
  if (record) await openModel(record);
}

/** Reads the header and shows the compatibility report; loads nothing. */
function openModel(record: ModelRecord): Promise<void> {
  return act('inspecting', async () => {
    state.selected = record;
    state.report = undefined;
    compat.showPending(record.name);
    render();
    try {
      state.report = await requireWorker().inspect(record.id, settings.loadOptions());
      compat.show(state.report);
    } catch (e) {
      compat.clear();
      throw e;
    }
  });
}

function loadSelected(): Promise<void> {
  const record = state.selected;
  if (!record) return Promise.resolve();
  return act('loading', async () => {
    ui.loadProgress.value = 0;
    ui.loadProgress.hidden = false;
    ui.loadStatus.textContent = `Loading ${record.name}…`;
    state.loaded = undefined;
    state.messages = [];
    try {
      const info = await requireWorker().load(record.id, settings.loadOptions(), (p) => {
        ui.loadProgress.value = p.fraction;
        const bytes = p.totalBytes ? ` ${formatBytes(p.loadedBytes ?? 0)} of ${formatBytes(p.totalBytes)}` : '';
        ui.loadStatus.textContent = `${p.phase}${bytes}${p.message ? ` · ${p.message}` : ''}`;
      });
      state.loaded = record;
      ui.loadStatus.textContent =
        `Loaded ${record.name}: ${info.architecture}, ${info.nLayers} layers, context ${info.ctxSize}, ` +
        `${formatBytes(info.gpuBytesPeak)} on the GPU, in ${Math.round(info.loadMs)} ms.`;
      ui.loadStatus.dataset.state = 'loaded';
    } catch (e) {
      ui.loadStatus.textContent = `Not loaded.`;
      ui.loadStatus.dataset.state = 'failed';
      throw e;
    } finally {
      ui.loadProgress.hidden = true;
    }
  });
}

function send(): Promise<void> {
  return act('generating', async () => {
    const prompt = ui.promptInput.value;
    const options = settings.generateOptions();
    if (!prompt.trim()) throw new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt first.' });
    const mode = settings.mode;
    const input = mode === 'raw' ? prompt : [...state.messages, { role: 'user' as const, content: prompt }];
    chat.begin(prompt);
    try {
      const summary = await requireWorker().generate(input, options, (event) => chat.onEvent(event));
      chat.end(summary.reason === 'abort' ? 'Stopped.' : undefined);
      if (mode === 'chat') {
        state.messages.push({ role: 'user', content: prompt }, { role: 'assistant', content: chat.text });
        // A chat moves on to the next message; a raw prompt stays, to be tried again with other settings.
        if (ui.promptInput.value === prompt) ui.promptInput.value = '';
      }
    } catch (e) {
      const err = toClawError(e);
      // A stop during the prompt is not a failure.
      if (err.code === 'clw-aborted') return chat.end('Stopped.');
      chat.end('Failed.');
      throw err;
    }
  });
}

async function removeModel(record: ModelRecord): Promise<void> {
  await act('inspecting', async () => {
    if (state.loaded?.id === record.id) {
      await requireWorker().unload();
      state.loaded = undefined;
      ui.loadStatus.textContent = '';
    }
    if (state.selected?.id === record.id) {
      state.selected = undefined;
      state.report = undefined;
      compat.clear();
    }
    await library.remove(record.id);
    await refreshLibrary();
  });
}

function wireEvents(): void {
  ui.fileInput.addEventListener('change', () => {
    void addFiles(ui.fileInput.files).finally(() => (ui.fileInput.value = ''));
  });
  ui.dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    ui.dropZone.classList.add('dragging');
  });
  ui.dropZone.addEventListener('dragleave', () => ui.dropZone.classList.remove('dragging'));
  ui.dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    ui.dropZone.classList.remove('dragging');
    void addFiles(e.dataTransfer?.files);
  });
  // A file dropped beside the zone would make the browser open it and leave the page.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    if (!ui.dropZone.contains(e.target as Node)) void addFiles(e.dataTransfer?.files);
  });
  ui.loadButton.addEventListener('click', () => void loadSelected());
  ui.promptForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void send();
  });
  ui.promptInput.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter makes a new line.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (!ui.sendButton.disabled) void send();
    }
  });
  ui.stopButton.addEventListener('click', () => {
    void worker?.abort().catch((e: unknown) => banner.show(e));
  });
  ui.newChatButton.addEventListener('click', () => {
    state.messages = [];
    render();
  });
  // Anything that escapes the handlers above still reaches the person as a coded error.
  window.addEventListener('unhandledrejection', (e) => {
    e.preventDefault();
    banner.show(e.reason);
  });
  window.addEventListener('error', (e) => {
    banner.show(e.error ?? e.message);
  });
}

async function showGpuStatus(): Promise<void> {
  ui.gpuStatus.dataset.state = 'checking';
  try {
    const probe = await probeWebGpu();
    ui.gpuStatus.textContent = `WebGPU ready · ${probe.adapter}`;
    ui.gpuStatus.dataset.state = 'ready';
  } catch (e) {
    ui.gpuStatus.textContent = 'WebGPU unavailable';
    ui.gpuStatus.dataset.state = 'unavailable';
    banner.show(e);
  }
}

async function start(): Promise<void> {
  wireEvents();
  try {
    worker = WorkerClient.start();
  } catch (e) {
    banner.show(e);
  }
  render();
  await Promise.all([showGpuStatus(), refreshLibrary().catch((e: unknown) => banner.show(e))]);
  document.body.dataset.ready = 'true';
}

void start();
