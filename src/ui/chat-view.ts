// The reply area: the latest reply with tokens appended as they arrive,
// warnings the engine raised along the way, and the speed figures.

import type { GenerateEvent, GenerateStats } from '../engine/types';
import { byTestId, h } from './dom';
import { formatRate } from './format';

export class ChatView {
  private readonly output = byTestId('assistant-output');
  private readonly lastPrompt = byTestId('last-prompt');
  private readonly stats = byTestId('generation-stats');
  private readonly notices = byTestId('generation-notices');
  private reply = '';

  /** Starts a new reply: the previous one is replaced, as the page shows the latest reply only. */
  begin(promptText: string): void {
    this.reply = '';
    this.output.textContent = '';
    this.output.dataset.state = 'generating';
    this.output.setAttribute('aria-busy', 'true');
    this.lastPrompt.textContent = promptText;
    this.lastPrompt.hidden = false;
    this.stats.textContent = 'Reading the prompt…';
    this.notices.replaceChildren();
  }

  /** Text produced so far in the latest reply. */
  get text(): string {
    return this.reply;
  }

  onEvent(event: GenerateEvent): void {
    switch (event.type) {
      case 'prompt':
        this.stats.textContent = `Prompt: ${event.tokenIds.length} tokens. Generating…`;
        break;
      case 'token':
        this.appendToken(event.text);
        break;
      case 'warning':
        this.notices.append(h('li', {}, h('code', {}, event.code), ' ', event.message));
        break;
      case 'done':
        this.showStats(event.stats, event.reason);
        break;
    }
  }

  /** The generation is over (finished, stopped or failed). */
  end(note?: string): void {
    this.output.dataset.state = 'done';
    this.output.removeAttribute('aria-busy');
    if (note) this.stats.textContent = this.stats.textContent ? `${this.stats.textContent} ${note}` : note;
  }

  private appendToken(text: string): void {
    // Follow the reply as it grows, unless the person scrolled up to read.
    const o = this.output;
    const following = o.scrollHeight - o.scrollTop - o.clientHeight < 24;
    this.reply += text;
    // Text node append: tokens are text, never markup.
    o.append(text);
    if (following) o.scrollTop = o.scrollHeight;
  }

  private showStats(s: GenerateStats, reason: 'stop' | 'length' | 'abort'): void {
    const why = { stop: 'end of text', length: 'max tokens reached', abort: 'stopped' }[reason];
    this.stats.replaceChildren(
      stat('prefill', `${formatRate(s.prefillTokPerS)} (${s.nPrompt} prompt tokens${s.nCached ? `, ${s.nCached} reused from the cache` : ''})`, 'stat-prefill'),
      stat('decode', `${formatRate(s.decodeTokPerS)} (${s.nGenerated} tokens)`, 'stat-decode'),
      stat('finished', why, 'stat-reason'),
    );
  }
}

function stat(label: string, value: string, testId: string): HTMLElement {
  return h('span', { class: 'stat', 'data-testid': testId }, h('span', { class: 'stat-label' }, label), ' ', value);
}
