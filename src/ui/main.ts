// The page: drop a GGUF file, see whether it runs, load it, chat with it in
// conversations that survive reloads. This module owns the page state and
// wires the parts together: the models (model-control.ts: library,
// compatibility report, loading, the remote server) and the conversations
// (chat-control.ts: prompt, replies, stored conversations). The views
// render, the workers do the work, nothing here touches the GPU. The model
// loads and answers through the library's own createWorkerEngine (one engine
// worker per loaded model); the header worker answers questions about a file
// before it is loaded; a remote OpenAI-compatible server, when one is saved,
// answers instead.

import './style.css';
import { narrowConnectSrc } from './csp';
import { apiBase, savedRemote } from './remote-server';
import { ChatControl } from './chat-control';
import { ConversationStore } from './conversations';
import { byTestId } from './dom';
import { ErrorBanner } from './error-banner';
import { showGpuStatus } from './gpu-probe';
import { renderMarkdown } from './markdown';
import { ModelControl } from './model-control';
import { OutputPanel } from './output-settings';
import type { Busy, Page, PageState } from './page';
import { SettingsPanel } from './settings';

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
const chats = new ConversationStore();

const state: PageState = {
  busy: 'idle',
  records: [],
  selected: undefined,
  report: undefined,
  loaded: undefined,
  info: undefined,
  probe: undefined,
  conversations: [],
  current: chats.create(settings.defaultSystemPrompt),
};

const page: Page = { state, banner, settings, render, act };
const models = new ModelControl(page, remoteSettings);
const conversations = new ChatControl(page, chats, output, models);

function render(): void {
  const idle = state.busy === 'idle';
  models.render(idle);
  conversations.render(idle);
  document.body.dataset.busy = state.busy;
  document.body.dataset.modelLoaded = String(!!state.loaded);
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

async function start(): Promise<void> {
  // Anything that escapes the handlers still reaches the person as a coded error.
  window.addEventListener('unhandledrejection', (e) => {
    e.preventDefault();
    banner.show(e.reason);
  });
  window.addEventListener('error', (e) => {
    banner.show(e.error ?? e.message);
  });
  models.startHeaderWorker();
  render();
  const probing = showGpuStatus(byTestId('gpu-status'), byTestId('webgpu-help'), (e) => banner.show(e)).then((probe) => void (state.probe = probe));
  await Promise.all([probing, models.refreshLibrary().catch((e: unknown) => banner.show(e)), conversations.refreshConversations(), models.useSavedRemote()]);
  conversations.resume();
  document.body.dataset.ready = 'true';
  // The first Markdown render compiles marked's and DOMPurify's code paths (tens of ms):
  // pay that while the page is idle, not in the first frame of the first reply.
  const whenIdle = window.requestIdleCallback ?? ((run: () => void) => setTimeout(run, 500));
  whenIdle(() => void renderMarkdown('# a\n\n- **b** `c`\n\n| d |\n|---|\n| e |\n\n```\nf\n```'));
}

void start();
