// The stored models list: one entry per GGUF file kept in IndexedDB, each
// with an action to open it (inspect, then load) and one to remove it.

import type { ModelRecord } from '../worker/library';
import { byTestId, h } from './dom';
import { formatBytes, formatDate } from './format';

export interface LibraryActions {
  open(record: ModelRecord): void;
  remove(record: ModelRecord): void;
}

export class LibraryView {
  private readonly list = byTestId<HTMLUListElement>('model-library');
  private readonly empty = byTestId('model-library-empty');

  constructor(private readonly actions: LibraryActions) {}

  private readonly storage = byTestId('storage-usage');

  render(records: ModelRecord[], selectedId: string | undefined, loadedId: string | undefined, unstored: ReadonlySet<string> = new Set()): void {
    this.empty.hidden = records.length > 0;
    void this.showStorage(records.filter((r) => !unstored.has(r.id)));
    this.list.replaceChildren(
      ...records.map((record) => {
        const open = h('button', { type: 'button', class: 'secondary', 'data-testid': 'library-open', 'aria-label': `Open ${record.name}` }, 'Open');
        open.addEventListener('click', () => this.actions.open(record));
        const remove = h('button', { type: 'button', class: 'ghost', 'data-testid': 'library-remove', 'aria-label': `Delete ${record.name} from this browser` }, 'Delete');
        remove.addEventListener('click', () => this.actions.remove(record));
        const badges = [
          record.id === loadedId ? h('span', { class: 'badge loaded' }, 'loaded') : null,
          record.id === selectedId && record.id !== loadedId ? h('span', { class: 'badge' }, 'selected') : null,
          unstored.has(record.id) ? h('span', { class: 'badge warn', 'data-testid': 'unstored-note', title: 'The browser refused to store this file' }, 'not stored: forgotten when this tab closes') : null,
        ];
        return h(
          'li',
          { class: 'library-entry', 'data-testid': 'library-entry', 'data-model-id': record.id, 'aria-current': record.id === selectedId ? 'true' : undefined },
          h('div', { class: 'entry-text' }, h('span', { class: 'entry-name' }, record.name, ...badges), h('span', { class: 'entry-meta', 'data-testid': 'library-entry-meta' }, [formatBytes(record.size), record.parts ? `${record.parts} parts` : undefined, record.architecture, record.quantMix, `added ${formatDate(record.addedAt)}`].filter(Boolean).join(' · '))),
          h('div', { class: 'entry-actions' }, open, remove),
        );
      }),
    );
  }

  /** What the stored models take against what the browser allows this site (navigator.storage.estimate). */
  private async showStorage(records: ModelRecord[]): Promise<void> {
    const models = records.reduce((sum, r) => sum + r.size, 0);
    let text = `Models: ${formatBytes(models)}`;
    try {
      const estimate = await navigator.storage?.estimate?.();
      const persisted = await navigator.storage?.persisted?.();
      if (estimate?.quota) text += ` · this site uses ${formatBytes(estimate.usage ?? 0)} of ${formatBytes(estimate.quota)} the browser allows`;
      if (persisted !== undefined) text += persisted ? ' · kept by the browser' : ' · may be cleared by the browser when space is short';
    } catch {
      // No StorageManager (old browser, some private modes): the models' own total is still right.
    }
    this.storage.textContent = text;
  }
}
