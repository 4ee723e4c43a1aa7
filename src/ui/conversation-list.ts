// The list of stored conversations: title, date and model of each; open,
// rename (in place) and delete. The open one is marked aria-current.

import type { Conversation } from './conversations';
import { byTestId, h } from './dom';
import { formatDate } from './format';

export interface ConversationActions {
  open(conversation: Conversation): void;
  rename(conversation: Conversation, title: string): void;
  remove(conversation: Conversation): void;
}

export class ConversationList {
  private readonly list = byTestId<HTMLUListElement>('conversation-list');
  private readonly empty = byTestId('conversation-list-empty');

  constructor(private readonly actions: ConversationActions) {}

  render(conversations: Conversation[], currentId: string | undefined, disabled: boolean): void {
    this.empty.hidden = conversations.length > 0;
    this.list.replaceChildren(...conversations.map((c) => this.entry(c, c.id === currentId, disabled)));
  }

  private entry(c: Conversation, current: boolean, disabled: boolean): HTMLLIElement {
    const open = h(
      'button',
      { type: 'button', class: 'conversation-open', 'data-testid': 'conversation-open', disabled, 'aria-current': current ? 'true' : undefined },
      h('span', { class: 'conversation-title', 'data-testid': 'conversation-title' }, c.title),
      h('span', { class: 'entry-meta' }, `${formatDate(c.updatedAt)}${c.modelName ? ` · ${c.modelName}` : ''} · ${c.turns.length} messages`),
    );
    open.addEventListener('click', () => this.actions.open(c));
    const rename = h('button', { type: 'button', class: 'ghost small', 'data-testid': 'conversation-rename', disabled, 'aria-label': `Rename ${c.title}` }, 'Rename');
    const remove = h('button', { type: 'button', class: 'ghost small', 'data-testid': 'conversation-delete', disabled, 'aria-label': `Delete ${c.title}` }, 'Delete');
    remove.addEventListener('click', () => this.actions.remove(c));
    const item = h('li', { class: 'conversation-entry', 'data-testid': 'conversation-entry', 'data-conversation-id': c.id }, open, h('div', { class: 'entry-actions' }, rename, remove));
    rename.addEventListener('click', () => {
      const input = h('input', { type: 'text', class: 'rename-input', 'data-testid': 'conversation-rename-input', 'aria-label': 'New title' });
      input.value = c.title;
      let finished = false;
      const done = (save: boolean) => {
        if (finished) return;
        finished = true;
        if (save && input.value.trim() && input.value !== c.title) this.actions.rename(c, input.value);
        else input.replaceWith(open);
      };
      input.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') done(true);
        if (e.key === 'Escape') done(false);
      });
      input.addEventListener('blur', () => done(true), { once: true });
      open.replaceWith(input);
      input.focus();
      input.select();
    });
    return item;
  }
}
