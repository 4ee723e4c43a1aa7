// The page: drop a GGUF file, see whether it runs, load it, chat with it in
// conversations that survive reloads. This module owns the page state and
// wires the views to the workers; the views render, the workers do the
// work, nothing here touches the GPU. The model loads and answers through
// the library's own createWorkerEngine (one engine worker per loaded model);
// the header worker answers questions about a file before it is loaded; a
// remote OpenAI-compatible server, when one is saved, answers instead.

import './style.css';
import { createWorkerEngine } from '../api/worker-engine';
import type { WebClawEngine } from '../api/engine';
import { ClawError, toClawError } from '../errors';
import type { CompatibilityReport, ModelInfo } from '../engine/types';
import { WorkerClient } from '../worker/client';
import { quantMix, type FileDetails } from '../worker/file-details';
import { ModelLibrary, type ModelFile, type ModelRecord } from '../worker/library';
import { orderSplitParts, splitPartOf } from '../gguf/split';
import { narrowConnectSrc } from './csp';
import { RemotePanel } from './remote-panel';
import { apiBase, savedRemote, type RemoteEngine } from './remote-server';
import { streamReply, type ReplyInput } from './reply-stream';
import { ChatView } from './chat-view';
import { CompatView } from './compat-view';
import { ConversationList } from './conversation-list';
import { chatMessages, ConversationStore, type Conversation, type Turn } from './conversations';
import { byTestId } from './dom';
import { ErrorBanner } from './error-banner';
import { wireFileDrop } from './file-drop';
import { formatBytes } from './format';
import { showGpuStatus, type GpuProbe } from './gpu-probe';
import { LibraryView } from './library-view';
import { LoadView } from './load-view';
import { renderMarkdown } from './markdown';
import { MetadataView } from './metadata-view';
import { OutputPanel } from './output-settings';
import { SettingsPanel } from './settings';
import { UnstoredModels } from './unstored';

type Busy = 'idle' | 'inspecting' | 'loading' | 'generating';

// First, before anything can fetch: the page may reach its own origin and the saved remote server's, nothing else.
const remoteSettings = savedRemote();
narrowConnectSrc(remoteOrigin());

function remoteOrigin(): string | undefined {
  try {
    return remoteSettings ? apiBase(remoteSettings.url).origin : undefined;
  } catch {
    return undefined;
  }
}

const banner = new ErrorBanner();
const settings = new SettingsPanel();
const output = new OutputPanel();
const compat = new CompatView();
const loadView = new LoadView();
const library = new ModelLibrary();
const chats = new ConversationStore();
const unstored = new UnstoredModels();
const libraryView = new LibraryView({ open: (r) => void openModel(r), remove: (r) => void removeModel(r) });
const chat = new ChatView({ edit: (i, text) => void editTurn(i, text), regenerate: () => void regenerate() });
const conversationList = new ConversationList({
  open: (c) => openConversation(c),
  rename: (c, title) => void renameConversation(c, title),
  remove: (c) => void removeConversation(c),
});
const metadata = new MetadataView(() => selectedDetails());
const remotePanel = new RemotePanel(remoteSettings, { onError: (e) => banner.show(e), onUseSaved: () => void switchToRemote() });

const ui = {
  gpuStatus: byTestId('gpu-status'),
  webgpuHelp: byTestId('webgpu-help'),
  fileInput: byTestId<HTMLInputElement>('model-file-input'),
  dropZone: byTestId('drop-zone'),
  loadButton: byTestId<HTMLButtonElement>('load-button'),
  promptForm: byTestId<HTMLFormElement>('prompt-form'),
  promptInput: byTestId<HTMLTextAreaElement>('prompt-input'),
  sendButton: byTestId<HTMLButtonElement>('send-button'),
  stopButton: byTestId<HTMLButtonElement>('stop-button'),
  newChatButton: byTestId<HTMLButtonElement>('new-chat-button'),
  modelHint: byTestId('model-hint'),
  chatTitle: byTestId('conversation-heading'),
};

const state = {
  busy: 'idle' as Busy,
  records: [] as ModelRecord[],
  selected: undefined as ModelRecord | undefined,
  report: undefined as CompatibilityReport | undefined,
  loaded: undefined as ModelRecord | undefined,
  info: undefined as ModelInfo | undefined,
  probe: undefined as GpuProbe | undefined,
  conversations: [] as Conversation[],
  current: chats.create(settings.defaultSystemPrompt),
};

/** The header worker: compatibility reports and metadata before loading. */
let worker: WorkerClient | undefined;
/** The loaded model, in its own worker, through the public worker engine. */
let engine: { engine: WebClawEngine; worker: Worker } | undefined;
/** The saved remote server while it answers: from the start, and again when no model is loaded here (a load failed or was cancelled, the model was removed) or the person asks for it. */
let remote: RemoteEngine | undefined;
/** Rejects the running load when the person cancels it. */
let cancelLoad: ((e: ClawError) => void) | undefined;
/** Stops the running reply. */
let stopReply: AbortController | undefined;

function render(): void {
  const idle = state.busy === 'idle';
  ui.loadButton.disabled = !idle || !state.selected || !state.report || state.report.verdict === 'will-not-run';
  ui.sendButton.disabled = !idle || !state.loaded;
  ui.stopButton.disabled = state.busy !== 'generating';
  ui.fileInput.disabled = state.busy === 'loading';
  ui.newChatButton.disabled = !idle || state.current.turns.length === 0;
  chat.setBusy(!idle);
  ui.chatTitle.textContent = state.current.title;
  const used = state.current.modelName && state.current.modelId !== state.loaded?.id ? ` This conversation was held with ${state.current.modelName}.` : '';
  ui.modelHint.textContent = (state.loaded ? `Talking to ${state.loaded.name}.` : 'Load a model to start.') + used;
  document.body.dataset.busy = state.busy;
  document.body.dataset.modelLoaded = String(!!state.loaded);
  const unstoredRecords = unstored.records;
  libraryView.render([...unstoredRecords, ...state.records], state.selected?.id, state.loaded?.id, new Set(unstoredRecords.map((r) => r.id)));
  conversationList.render(state.conversations, state.current.id, !idle);
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

/** A model's bytes (a File, or a split model's parts): kept for this tab, or from the library. */
async function fileOf(record: ModelRecord): Promise<ModelFile> {
  return (unstored.get(record.id) ?? (await library.get(record.id))).file;
}

/** The selected file's metadata and tensor table, for the viewer; a failure goes to the banner. */
async function selectedDetails(): Promise<FileDetails | undefined> {
  if (!state.selected) return undefined;
  try {
    return await requireWorker().details(await fileOf(state.selected));
  } catch (e) {
    banner.show(e);
    return undefined;
  }
}

async function refreshLibrary(): Promise<void> {
  state.records = await library.list();
  render();
}

/**
 * Stores dropped files and opens the last: several files named like the parts
 * of a split model (name-00001-of-00003.gguf) become one model.
 */
async function addFiles(files: FileList | null | undefined): Promise<void> {
  const list = [...(files ?? [])];
  if (list.length === 0) return;
  let record: ModelRecord | undefined;
  await act('inspecting', async () => {
    const models: { file: ModelFile; name: string }[] =
      list.length > 1 && list.some((f) => splitPartOf(f.name))
        ? [(({ base, parts }) => ({ file: parts, name: `${base}.gguf` }))(orderSplitParts(list))]
        : list.map((f) => ({ file: f, name: f.name || 'model.gguf' }));
    for (const model of models) record = await store(model.file, model.name);
    // Ask once that the browser keep what is stored, instead of clearing it when space runs short.
    void navigator.storage?.persist?.().catch(() => false);
    await refreshLibrary();
  });
  if (record) await openModel(record);
}

/** Stores a model; when the browser refuses, the worker keeps it for this tab and its entry says so. */
async function store(file: ModelFile, name: string): Promise<ModelRecord> {
  try {
    return await library.add(file, name);
  } catch (e) {
    // What is already stored stays; this file still runs until the tab closes.
    console.warn(toClawError(e).message);
    return unstored.keep(file, name);
  }
}

/** Reads the header and shows the compatibility report; loads nothing. */
function openModel(record: ModelRecord): Promise<void> {
  return act('inspecting', async () => {
    state.selected = record;
    state.report = undefined;
    compat.showPending(record.name);
    metadata.reset(false);
    render();
    try {
      state.report = await requireWorker().inspect(await fileOf(record), settings.loadOptions());
      compat.show(state.report, state.probe);
      metadata.reset(true);
    } catch (e) {
      compat.clear();
      throw e;
    }
    if (!record.architecture) {
      const mix = quantMix(state.report.tensorTypes);
      await library.describe(record.id, { architecture: state.report.architecture, quantMix: mix }).catch(() => undefined);
      await refreshLibrary();
    }
  });
}

function loadSelected(): Promise<void> {
  const record = state.selected;
  if (!record) return Promise.resolve();
  return act('loading', async () => {
    const options = settings.loadOptions();
    loadView.begin(record.name);
    await unloadEngine();
    remote = undefined;
    state.loaded = undefined;
    state.info = undefined;
    const cancelled = new Promise<never>((_, reject) => (cancelLoad = reject));
    const started = startEngineWorker();
    try {
      const model = await fileOf(record);
      const loaded = await Promise.race([createWorkerEngine(started, { ...options, model, onProgress: (p) => loadView.onProgress(p) }), cancelled]);
      engine = { engine: loaded, worker: started };
      remotePanel.standBy();
      const info = loaded.info;
      state.loaded = record;
      state.info = info;
      loadView.done(
        `Loaded ${record.name}: ${info.architecture}, ${info.nLayers} layers, context ${info.ctxSize}, ` +
          `${formatBytes(info.gpuBytesPeak)} on the GPU${info.budgetBytes ? ` (budget ${formatBytes(info.budgetBytes)})` : ''}, in ${Math.round(info.loadMs)} ms.`,
      );
    } catch (e) {
      // The worker, its GPU device and everything allocated on it go away.
      started.terminate();
      const err = toClawError(e);
      loadView.failed(err.code === 'clw-aborted' ? 'Loading cancelled; nothing stays on the GPU.' : 'Not loaded.');
      // Nothing is loaded here: the saved remote server answers again.
      await useSavedRemote();
      if (err.code !== 'clw-aborted') throw err;
    } finally {
      cancelLoad = undefined;
    }
  });
}

/** Cancels a load: its worker ends, and with it the GPU device and everything allocated on it. */
function cancelLoading(): void {
  cancelLoad?.(new ClawError('clw-aborted', 'loading was cancelled'));
}

/** The engine worker bundled by Vite: the library's exposeEngine(), as an embedder writes it. */
function startEngineWorker(): Worker {
  return new Worker(new URL('../worker/engine-worker.ts', import.meta.url), { type: 'module', name: 'webclaw-engine' });
}

/** Frees the loaded model and ends its worker. */
async function unloadEngine(): Promise<void> {
  const current = engine;
  engine = undefined;
  if (!current) return;
  await current.engine.unload().catch(() => undefined);
  current.worker.terminate();
}

/** What answers now: the model loaded here, or the remote server. */
function backend(): RemoteEngine | WebClawEngine {
  const answering = engine?.engine ?? remote;
  if (!answering) throw new ClawError('clw-bad-request', 'no model is loaded', { fix: 'Load a model first, or save a remote server in the settings.' });
  return answering;
}

/** The saved remote server answers (when one is saved and it is reachable; else the panel and the banner say why). */
async function useSavedRemote(): Promise<void> {
  try {
    const connected = await remotePanel.connect();
    if (connected) answerWithRemote(connected);
  } catch (e) {
    banner.show(e);
  }
}

/** "Use this server" on the saved one: once it answers, the model loaded here is freed and the server takes over. */
function switchToRemote(): Promise<void> {
  return act('loading', async () => {
    const connected = await remotePanel.connect();
    if (!connected) return;
    await unloadEngine();
    loadView.clear();
    answerWithRemote(connected);
  });
}

function answerWithRemote(connected: RemoteEngine): void {
  remote = connected;
  state.loaded = { id: `remote:${remote.origin}`, name: `${remote.modelId} at ${remote.origin}`, size: 0, addedAt: 0 };
  state.info = undefined;
  render();
}

function send(): Promise<void> {
  const prompt = ui.promptInput.value;
  if (!prompt.trim()) {
    banner.show(new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt first.' }));
    return Promise.resolve();
  }
  const raw = settings.mode === 'raw';
  const user: Turn = raw ? { role: 'user', content: prompt, raw } : { role: 'user', content: prompt };
  return reply(user, () => {
    // A chat moves on to the next message; a raw prompt stays, to be tried again with other settings.
    if (!raw && ui.promptInput.value === prompt) ui.promptInput.value = '';
  });
}

/** Answers the conversation: with a new user turn, or (none) again for its last user turn, whose reply `replacing` was. */
function reply(user: Turn | undefined, onDone?: () => void, replacing?: Turn): Promise<void> {
  return act('generating', async () => {
    const conversation = state.current;
    const lastUser = user ?? [...conversation.turns].reverse().find((t) => t.role === 'user');
    if (!lastUser) throw new ClawError('clw-bad-request', 'there is no message to answer', { fix: 'Type a message first.' });
    const options = settings.generateOptions();
    const answering = backend();
    const raw = !!lastUser.raw;
    Object.assign(options, output.options(raw));
    if (user) conversation.turns.push(user);
    const input: ReplyInput = raw ? lastUser.content : chatMessages(conversation);
    chat.begin(user, conversation.turns.length - (user ? 1 : 0), raw);
    let note: string | undefined;
    const stop = new AbortController();
    stopReply = stop;
    try {
      await streamReply(answering, input, options, stop.signal, (event) => chat.onEvent(event, state.info));
    } catch (e) {
      if (stopReply === stop) stopReply = undefined;
      const err = toClawError(e);
      // A stop during the prompt is not a failure.
      if (err.code !== 'clw-aborted') {
        if (!chat.text) takeBack(conversation, user, replacing);
        chat.end('Failed.');
        if (chat.text) conversation.turns.push({ role: 'assistant', content: chat.text, ...(raw ? { raw } : {}) });
        await saveCurrent();
        throw err;
      }
      note = 'Stopped.';
    }
    if (stopReply === stop) stopReply = undefined;
    chat.end(note);
    if (engine?.engine === answering) void answering.gpuBytesInUse().then((bytes) => chat.showGpuBytes(bytes, state.info), () => undefined);
    conversation.turns.push({ role: 'assistant', content: chat.text, ...(raw ? { raw } : {}) });
    if (chat.toolCalls.length) conversation.turns.at(-1)!.toolCalls = chat.toolCalls;
    conversation.modelId = state.loaded?.id;
    conversation.modelName = state.loaded?.name;
    await saveCurrent();
    onDone?.();
  });
}

/** The generate options are valid (else the banner says which is not): checked before a turn is dropped. */
function settingsValid(): boolean {
  try {
    settings.generateOptions();
    output.options(false);
    return true;
  } catch (e) {
    banner.show(e);
    return false;
  }
}

function regenerate(): Promise<void> {
  const turns = state.current.turns;
  // Busy (a reply still being stored): nothing is dropped, the click does nothing.
  if (state.busy !== 'idle' || turns.at(-1)?.role !== 'assistant' || !settingsValid()) return Promise.resolve();
  const old = turns.pop();
  chat.show(state.current);
  return reply(undefined, undefined, old);
}

/**
 * A reply failed before writing anything: the conversation is put back as it
 * was (a new message's text stays in the prompt box, a regenerated reply
 * returns), so that it keeps alternating: two user turns in a row are
 * refused by many chat templates, and the conversation could not go on.
 */
function takeBack(conversation: Conversation, user: Turn | undefined, replacing: Turn | undefined): void {
  if (user) {
    conversation.turns.pop();
    if (!ui.promptInput.value.trim()) ui.promptInput.value = user.content;
  } else if (replacing) conversation.turns.push(replacing);
  chat.show(conversation);
}

function editTurn(index: number, text: string): Promise<void> {
  const old = state.current.turns[index];
  if (state.busy !== 'idle' || !old || old.role !== 'user' || !settingsValid()) return Promise.resolve();
  state.current.turns = state.current.turns.slice(0, index);
  chat.show(state.current);
  return reply({ ...old, content: text });
}

async function saveCurrent(): Promise<void> {
  try {
    state.current = await chats.save(state.current);
  } catch (e) {
    // Not stored (private window, full disk): the conversation goes on in this page.
    banner.show(e);
  }
  await refreshConversations();
}

async function refreshConversations(): Promise<void> {
  state.conversations = await chats.list().catch((e: unknown) => {
    banner.show(e);
    return state.conversations;
  });
  render();
}

function openConversation(conversation: Conversation): void {
  if (state.busy !== 'idle') return;
  state.current = structuredClone(conversation);
  chat.show(state.current);
  settings.bindSystemPrompt(state.current.systemPrompt, (value) => void changeSystemPrompt(value));
  render();
  // The conversation's model, if it is not the loaded one: show its report, ready to load.
  const record = state.records.find((r) => r.id === conversation.modelId);
  if (record && record.id !== state.loaded?.id && record.id !== state.selected?.id) void openModel(record);
}

function newChat(): void {
  openConversation(chats.create(settings.defaultSystemPrompt));
}

async function changeSystemPrompt(value: string): Promise<void> {
  state.current.systemPrompt = value;
  if (state.current.turns.length > 0) await saveCurrent();
}

async function renameConversation(conversation: Conversation, title: string): Promise<void> {
  await act('inspecting', async () => {
    const renamed = await chats.rename(conversation, title);
    if (state.current.id === renamed.id) state.current.title = renamed.title;
    await refreshConversations();
  });
}

async function removeConversation(conversation: Conversation): Promise<void> {
  await act('inspecting', async () => {
    await chats.remove(conversation.id);
    await refreshConversations();
  });
  if (state.current.id === conversation.id) newChat();
}

async function removeModel(record: ModelRecord): Promise<void> {
  await act('inspecting', async () => {
    if (state.loaded?.id === record.id) {
      await unloadEngine();
      state.loaded = undefined;
      state.info = undefined;
      loadView.clear();
      await useSavedRemote();
    }
    if (state.selected?.id === record.id) {
      state.selected = undefined;
      state.report = undefined;
      compat.clear();
      metadata.reset(false);
    }
    if (unstored.has(record.id)) {
      unstored.forget(record.id);
    } else {
      await library.remove(record.id);
    }
    await refreshLibrary();
  });
}

function wireEvents(): void {
  wireFileDrop(ui.dropZone, ui.fileInput, addFiles);
  ui.loadButton.addEventListener('click', () => void loadSelected());
  loadView.cancelButton.addEventListener('click', cancelLoading);
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
  ui.stopButton.addEventListener('click', () => stopReply?.abort(new ClawError('clw-aborted', 'stopped')));
  ui.newChatButton.addEventListener('click', newChat);
  // Anything that escapes the handlers above still reaches the person as a coded error.
  window.addEventListener('unhandledrejection', (e) => {
    e.preventDefault();
    banner.show(e.reason);
  });
  window.addEventListener('error', (e) => {
    banner.show(e.error ?? e.message);
  });
}

async function start(): Promise<void> {
  wireEvents();
  try {
    worker = WorkerClient.start();
  } catch (e) {
    banner.show(e);
  }
  render();
  const probing = showGpuStatus(ui.gpuStatus, ui.webgpuHelp, (e) => banner.show(e)).then((probe) => void (state.probe = probe));
  await Promise.all([probing, refreshLibrary().catch((e: unknown) => banner.show(e)), refreshConversations(), useSavedRemote()]);
  // Back where the person left off: the most recent conversation.
  const recent = state.conversations[0];
  if (recent) openConversation(recent);
  else settings.bindSystemPrompt(state.current.systemPrompt, (value) => void changeSystemPrompt(value));
  document.body.dataset.ready = 'true';
  // The first Markdown render compiles marked's and DOMPurify's code paths (tens of ms):
  // pay that while the page is idle, not in the first frame of the first reply.
  const whenIdle = window.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 500));
  whenIdle(() => void renderMarkdown('# a\n\n- **b** `c`\n\n| d |\n|---|\n| e |\n\n```\nf\n```'));
}

void start();
