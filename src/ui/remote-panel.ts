// The "Remote server" part of the settings: the URL and optional API key of
// an OpenAI-compatible server to chat through instead of this GPU, and the
// connection to the saved one. Saving another server or clearing it reloads
// the page, so that its Content Security Policy allows exactly the saved
// origin (csp.ts); "Use this server" on the server already saved switches
// back to it without a reload (its origin is already allowed).

import { toClawError } from '../errors';
import { byTestId } from './dom';
import { apiBase, connectRemote, saveRemote, type RemoteEngine, type RemoteSettings } from './remote-server';

export interface RemotePanelHooks {
  onError(e: unknown): void;
  /** The person asked for the saved server again (while a model loaded here answers, or after it failed). */
  onUseSaved(): void;
}

export class RemotePanel {
  private readonly url = byTestId<HTMLInputElement>('remote-url-input');
  private readonly key = byTestId<HTMLInputElement>('remote-key-input');
  private readonly status = byTestId('remote-status');
  /** The saved server's client, once it answered; kept while a model loaded here answers instead. */
  private connected: RemoteEngine | undefined;

  constructor(
    private readonly saved: RemoteSettings | undefined,
    hooks: RemotePanelHooks,
    reload: () => void = () => location.reload(),
  ) {
    this.url.value = saved?.url ?? '';
    this.key.value = saved?.apiKey ?? '';
    byTestId<HTMLButtonElement>('remote-save-button').addEventListener('click', () => {
      try {
        const typed: RemoteSettings = { url: this.url.value.trim(), ...(this.key.value ? { apiKey: this.key.value } : {}) };
        if (saved && typed.url === saved.url && typed.apiKey === saved.apiKey) return hooks.onUseSaved();
        saveRemote(typed);
        reload();
      } catch (e) {
        hooks.onError(e);
      }
    });
    byTestId<HTMLButtonElement>('remote-clear-button').addEventListener('click', () => {
      try {
        saveRemote(undefined);
        reload();
      } catch (e) {
        hooks.onError(e);
      }
    });
  }

  /**
   * The saved server, connected (once; the client is kept), or undefined when
   * none is saved. A server that does not answer is shown here and thrown.
   */
  async connect(): Promise<RemoteEngine | undefined> {
    if (!this.saved) {
      this.show('Off: replies come from this GPU.', 'off');
      return undefined;
    }
    const origin = this.origin();
    if (!this.connected) {
      this.show(`Connecting to ${origin}…`, 'off');
      try {
        this.connected = await connectRemote(this.saved);
      } catch (e) {
        this.show(`Not connected to ${origin}: ${toClawError(e).message}`, 'failed');
        throw e;
      }
    }
    this.show(`Replies come from ${this.connected.origin} (model ${this.connected.modelId}). Loading a model here switches to this GPU.`, 'connected');
    return this.connected;
  }

  /** A model loaded here answers now; the saved server (if any) waits. */
  standBy(): void {
    if (this.saved) this.show(`Replies come from the model loaded here; "Use this server" switches back to ${this.origin()}.`, 'off');
  }

  private origin(): string {
    try {
      return apiBase(this.saved?.url ?? '').origin;
    } catch {
      return this.saved?.url ?? '';
    }
  }

  private show(text: string, state: 'connected' | 'failed' | 'off'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }
}
