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

  render(records: ModelRecord[], selectedId: string | undefined, loadedId: string | undefined): void {
    this.empty.hidden = records.length > 0;
    this.list.replaceChildren(
      ...records.map((record) => {
        const open = h('button', { type: 'button', class: 'secondary', 'data-testid': 'library-open', 'aria-label': `Open ${record.name}` }, 'Open');
        open.addEventListener('click', () => this.actions.open(record));
        const remove = h('button', { type: 'button', class: 'ghost', 'data-testid': 'library-remove', 'aria-label': `Remove ${record.name}` }, 'Remove');
        remove.addEventListener('click', () => this.actions.remove(record));
        const badges = [
          record.id === loadedId ? h('span', { class: 'badge loaded' }, 'loaded') : null,
          record.id === selectedId && record.id !== loadedId ? h('span', { class: 'badge' }, 'selected') : null,
        ];
        return h(
          'li',
          { class: 'library-entry', 'data-testid': 'library-entry', 'data-model-id': record.id, 'aria-current': record.id === selectedId ? 'true' : undefined },
          h('div', { class: 'entry-text' }, h('span', { class: 'entry-name' }, record.name, ...badges), h('span', { class: 'entry-meta' }, `${formatBytes(record.size)} · added ${formatDate(record.addedAt)}`)),
          h('div', { class: 'entry-actions' }, open, remove),
        );
      }),
    );
  }
}
