// The "Remote server" part of the settings: the URL and optional API key of
// an OpenAI-compatible server to chat through instead of this GPU. Saving or
// clearing reloads the page, so that its Content Security Policy allows
// exactly the saved origin (csp.ts).

import { byTestId } from './dom';
import { saveRemote, savedRemote } from './remote-server';

export class RemotePanel {
  private readonly url = byTestId<HTMLInputElement>('remote-url-input');
  private readonly key = byTestId<HTMLInputElement>('remote-key-input');
  private readonly status = byTestId('remote-status');

  constructor(onError: (e: unknown) => void, reload: () => void = () => location.reload()) {
    const saved = savedRemote();
    this.url.value = saved?.url ?? '';
    this.key.value = saved?.apiKey ?? '';
    byTestId<HTMLButtonElement>('remote-save-button').addEventListener('click', () => {
      try {
        saveRemote({ url: this.url.value.trim(), ...(this.key.value ? { apiKey: this.key.value } : {}) });
        reload();
      } catch (e) {
        onError(e);
      }
    });
    byTestId<HTMLButtonElement>('remote-clear-button').addEventListener('click', () => {
      try {
        saveRemote(undefined);
        reload();
      } catch (e) {
        onError(e);
      }
    });
  }

  show(text: string, state: 'connected' | 'failed' | 'off'): void {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }
}
