// Load progress: the phase, bytes uploaded, speed (MiB/s over the upload so
// far) and time left, with the cancel button beside the bar.

import type { LoadProgress } from '../engine/types';
import { byTestId } from './dom';
import { formatBytes } from './format';

export class LoadView {
  private readonly progress = byTestId<HTMLProgressElement>('load-progress');
  private readonly status = byTestId('load-status');
  private readonly speed = byTestId('load-speed');
  readonly cancelButton = byTestId<HTMLButtonElement>('load-cancel-button');
  private started = 0;
  private firstBytes: { at: number; bytes: number } | undefined;

  begin(name: string): void {
    this.started = performance.now();
    this.firstBytes = undefined;
    this.progress.value = 0;
    this.progress.hidden = false;
    this.cancelButton.hidden = false;
    this.speed.textContent = '';
    this.status.textContent = `Loading ${name}…`;
    delete this.status.dataset.state;
  }

  onProgress(p: LoadProgress): void {
    // A report still in flight when the load ended (a cancel terminates the worker mid-upload) changes nothing.
    if (this.status.dataset.state) return;
    this.progress.value = p.fraction;
    const bytes = p.totalBytes ? ` ${formatBytes(p.loadedBytes ?? 0)} of ${formatBytes(p.totalBytes)}` : '';
    this.status.textContent = `${p.phase}${bytes}${p.message ? ` · ${p.message}` : ''}`;
    if (p.loadedBytes === undefined || !p.totalBytes) return;
    const now = performance.now();
    // Speed from the first upload report on, so parsing and planning do not count as slow bytes.
    this.firstBytes ??= { at: now, bytes: p.loadedBytes };
    const seconds = (now - this.firstBytes.at) / 1000;
    const moved = p.loadedBytes - this.firstBytes.bytes;
    if (seconds <= 0 || moved <= 0) return;
    const perSecond = moved / seconds;
    const left = (p.totalBytes - p.loadedBytes) / perSecond;
    this.speed.textContent = `${(perSecond / 2 ** 20).toFixed(1)} MiB/s · ${left < 1 ? 'under a second' : `${Math.ceil(left)} s`} left`;
  }

  /** Loaded: the summary line, and the bar goes away. */
  done(text: string): void {
    this.status.textContent = text;
    this.status.dataset.state = 'loaded';
    this.speed.textContent = `in ${((performance.now() - this.started) / 1000).toFixed(1)} s`;
    this.hideBar();
  }

  failed(text: string): void {
    this.status.textContent = text;
    this.status.dataset.state = 'failed';
    this.speed.textContent = '';
    this.hideBar();
  }

  clear(): void {
    this.status.textContent = '';
    delete this.status.dataset.state;
    this.speed.textContent = '';
  }

  private hideBar(): void {
    this.progress.hidden = true;
    this.cancelButton.hidden = true;
  }
}
