// The metadata viewer: every key of the GGUF header and the tensor table,
// filtered by a search box. File strings are untrusted and always set as
// text. Long arrays show their first elements; the rest the worker sent
// (up to ARRAY_SHOWN) open on request.

import type { FileDetails, MetadataRow } from '../worker/file-details';
import { byTestId, h } from './dom';
import { formatBytes } from './format';

const INLINE_ELEMENTS = 16;

export class MetadataView {
  private readonly root = byTestId<HTMLDetailsElement>('metadata-viewer');
  private readonly search = byTestId<HTMLInputElement>('metadata-search');
  private readonly body = byTestId('metadata-body');
  private details: FileDetails | undefined;

  constructor(private readonly fetchDetails: () => Promise<FileDetails | undefined>) {
    this.search.addEventListener('input', () => this.filter());
    // Built when first opened: a large vocabulary costs nothing until someone looks.
    this.root.addEventListener('toggle', () => {
      if (this.root.open && !this.details) void this.fill();
    });
  }

  /** A new file was selected (or none): forget the old one. */
  reset(visible: boolean): void {
    this.details = undefined;
    this.body.replaceChildren();
    this.root.hidden = !visible;
    if (visible && this.root.open) void this.fill();
  }

  private async fill(): Promise<void> {
    this.body.replaceChildren(h('p', { class: 'muted' }, 'Reading the header…'));
    const details = await this.fetchDetails();
    if (!details) return;
    this.details = details;
    const keyRows = details.metadata.map((row) => this.metadataRow(row));
    const tensorRows = details.tensors.map((t) =>
      h('tr', { 'data-search': t.name.toLowerCase() }, h('td', { class: 'mono' }, t.name), h('td', {}, t.type), h('td', { class: 'mono' }, t.shape.join(' × ')), h('td', { class: 'num' }, formatBytes(t.bytes))),
    );
    this.body.replaceChildren(
      h('p', { class: 'muted', 'data-testid': 'metadata-count' }, `GGUF v${details.version} · ${details.metadata.length} keys · ${details.tensors.length} tensors`),
      h(
        'table',
        { class: 'types meta-table', 'data-testid': 'metadata-keys' },
        h('caption', {}, 'Metadata'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Value'))),
        h('tbody', {}, ...keyRows),
      ),
      h(
        'table',
        { class: 'types meta-table', 'data-testid': 'metadata-tensors' },
        h('caption', {}, 'Tensors'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Shape'), h('th', { scope: 'col' }, 'Bytes'))),
        h('tbody', {}, ...tensorRows),
      ),
    );
    this.filter();
  }

  private metadataRow(row: MetadataRow): HTMLTableRowElement {
    let value: HTMLElement;
    if (row.type.startsWith('array')) {
      const shown = row.values.slice(0, INLINE_ELEMENTS).join(', ');
      const more = row.values.length > INLINE_ELEMENTS
        ? h('details', { class: 'more' }, h('summary', {}, `show ${row.values.length - INLINE_ELEMENTS} more`), h('span', {}, row.values.slice(INLINE_ELEMENTS).join(', ')))
        : null;
      const cut = row.length > row.values.length ? h('span', { class: 'muted' }, ` … ${row.length - row.values.length} more not shown`) : null;
      value = h('td', { class: 'meta-value' }, h('span', { class: 'muted' }, `${row.length} elements: `), shown, more, cut);
    } else {
      value = h('td', { class: 'meta-value' }, row.values[0] ?? '');
    }
    // Search covers the key and what is shown inline.
    const haystack = `${row.key} ${row.values.slice(0, INLINE_ELEMENTS).join(' ')}`.toLowerCase();
    return h('tr', { 'data-search': haystack, 'data-key': row.key }, h('th', { scope: 'row', class: 'mono' }, row.key), h('td', {}, row.type), value);
  }

  private filter(): void {
    const q = this.search.value.trim().toLowerCase();
    for (const tr of this.body.querySelectorAll<HTMLTableRowElement>('tr[data-search]')) {
      tr.hidden = q !== '' && !(tr.dataset.search ?? '').includes(q);
    }
  }
}
