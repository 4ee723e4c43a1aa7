// The transcript of the open conversation: user turns (with edit) and
// replies (Markdown, with copy; the last one with regenerate), the reply
// being generated streamed into the last place, and the live figures:
// time to first token, decode speed, context used, GPU memory. A reply's
// tool calls are blocks of their own under its text (tool-calls.ts).
//
// Test handles: the newest reply's body is `assistant-output` and the newest
// user turn's text `last-prompt`; earlier ones are `assistant-message` and
// `user-message`.

import type { GenerateEvent, GenerateStats, ModelInfo, ToolCall } from '../engine/types';
import type { Conversation, Turn } from './conversations';
import { byTestId, h } from './dom';
import { formatBytes, formatRate } from './format';
import { copyText, MarkdownStream, renderMarkdown } from './markdown';
import { toolCallsElement } from './tool-calls';

export interface TurnActions {
  /** Replace user turn `index` with new text and answer it again (later turns are dropped). */
  edit(index: number, text: string): void;
  regenerate(): void;
}

export class ChatView {
  private readonly transcript = byTestId<HTMLOListElement>('transcript');
  private readonly stats = byTestId('generation-stats');
  private readonly notices = byTestId('generation-notices');
  private reply = '';
  private calls: ToolCall[] = [];
  private replyBody: HTMLElement | undefined;
  private stream: MarkdownStream | undefined;
  private raw = false;
  private startedAt = 0;
  private firstTokenAt = 0;
  private nTokens = 0;
  private nPrompt = 0;
  private busy = false;

  constructor(private readonly actions: TurnActions) {}

  /** Shows a whole conversation (opening one, after a reload, after an edit). */
  show(conversation: Conversation): void {
    this.transcript.replaceChildren(...conversation.turns.map((turn, i) => this.turnElement(turn, i)));
    this.retag();
    this.stats.replaceChildren();
    this.notices.replaceChildren();
  }

  /** Disables the turn buttons while a request runs, and until the page is idle again (the reply is being stored): the page's render() calls it. */
  setBusy(busy: boolean): void {
    this.busy = busy;
    for (const b of this.transcript.querySelectorAll<HTMLButtonElement>('button.turn-action')) b.disabled = busy;
  }

  /** Appends the user's turn (unless regenerating) and an empty reply to stream into. */
  begin(user: Turn | undefined, index: number, raw: boolean): void {
    if (user) this.transcript.append(this.turnElement(user, index));
    this.reply = '';
    this.calls = [];
    this.raw = raw;
    const item = this.turnElement({ role: 'assistant', content: '', raw }, index + (user ? 1 : 0));
    this.transcript.append(item);
    this.replyBody = item.querySelector<HTMLElement>('.turn-body')!;
    this.replyBody.dataset.state = 'generating';
    this.replyBody.setAttribute('aria-busy', 'true');
    this.stream = raw ? undefined : new MarkdownStream(this.replyBody);
    this.retag();
    this.setBusy(true);
    this.startedAt = performance.now();
    this.firstTokenAt = 0;
    this.nTokens = 0;
    this.nPrompt = 0;
    this.stats.textContent = 'Reading the prompt…';
    this.notices.replaceChildren();
    item.scrollIntoView({ block: 'nearest' });
  }

  /** Text produced so far in the reply being generated. */
  get text(): string {
    return this.reply;
  }

  /** The tool calls the reply being generated made. */
  get toolCalls(): ToolCall[] {
    return this.calls;
  }

  onEvent(event: GenerateEvent, model: ModelInfo | undefined): void {
    switch (event.type) {
      case 'prompt':
        this.nPrompt = event.tokenIds.length;
        this.stats.textContent = `Prompt: ${event.tokenIds.length} tokens. Generating…`;
        break;
      case 'token':
        if (event.tokenId >= 0) this.nTokens++;
        if (!this.firstTokenAt) this.firstTokenAt = performance.now();
        this.append(event.text);
        this.showLive(model);
        break;
      case 'warning':
        this.notices.append(h('li', {}, h('code', {}, event.code), ' ', event.message));
        break;
      case 'tool_calls':
        this.calls.push(...event.calls);
        this.replyBody?.after(toolCallsElement(event.calls));
        break;
      case 'done':
        this.showStats(event.stats, event.reason, model);
        break;
    }
  }

  /** The generation is over (finished, stopped or failed). */
  end(note?: string): void {
    const body = this.replyBody;
    if (body) {
      if (this.stream) this.stream.finish(this.reply);
      body.dataset.state = 'done';
      body.removeAttribute('aria-busy');
    }
    this.stream = undefined;
    this.replyBody = undefined;
    if (note) this.stats.append(` ${note}`);
  }

  /** The GPU memory figure, once the worker says what the engine holds now (the KV cache grows). */
  showGpuBytes(bytes: number, model: ModelInfo | undefined): void {
    const el = this.stats.querySelector('[data-testid="gpu-memory"]');
    if (!el || !model) return;
    const shown = stat('GPU memory', `${gpuText(bytes, model)} (in use now)`, 'gpu-memory');
    // The exact figure, for a reader that compares (the stress test: flat from the first reply to the last).
    shown.dataset.bytes = String(bytes);
    el.replaceWith(shown);
  }

  private append(text: string): void {
    const body = this.replyBody;
    if (!body || !text) return;
    // Follow the reply as it grows, unless the person scrolled up to read.
    const t = this.transcript;
    const following = t.scrollHeight - t.scrollTop - t.clientHeight < 32;
    this.reply += text;
    if (this.stream) this.stream.update(this.reply);
    else body.append(text); // a text node: a raw continuation is text, never markup
    if (following) t.scrollTop = t.scrollHeight;
  }

  private turnElement(turn: Turn, index: number): HTMLLIElement {
    const body = h('div', { class: 'turn-body' });
    if (turn.role === 'user' || turn.raw) body.textContent = turn.content;
    else body.append(renderMarkdown(turn.content));
    const actions = h('div', { class: 'turn-actions' });
    const calls = turn.toolCalls?.length ? toolCallsElement(turn.toolCalls) : null;
    const item = h('li', { class: `turn turn-${turn.role}${turn.raw ? ' turn-raw' : ''}`, 'data-index': String(index) }, body, calls, actions);
    if (turn.role === 'user') {
      const edit = h('button', { type: 'button', class: 'ghost turn-action', 'data-testid': 'edit-button', 'aria-label': 'Edit this message and send it again' }, 'Edit');
      edit.addEventListener('click', () => this.startEdit(body, index));
      actions.append(edit);
    } else {
      const copy = h('button', { type: 'button', class: 'ghost turn-action', 'data-testid': 'copy-button', 'aria-label': 'Copy this reply' }, 'Copy');
      copy.addEventListener('click', () => void copyText(turn.content || (body === this.replyBody ? this.reply : body.textContent ?? ''), copy));
      const regenerate = h('button', { type: 'button', class: 'ghost turn-action regenerate', 'aria-label': 'Write this reply again' }, 'Regenerate');
      regenerate.addEventListener('click', () => this.actions.regenerate());
      actions.append(copy, regenerate);
    }
    for (const b of actions.querySelectorAll('button')) b.disabled = this.busy;
    return item;
  }

  private startEdit(body: HTMLElement, index: number): void {
    const input = h('textarea', { class: 'edit-input', 'data-testid': 'edit-input', 'aria-label': 'Edited message', rows: '3' });
    input.value = body.textContent ?? '';
    const send = h('button', { type: 'button', class: 'primary', 'data-testid': 'edit-send-button' }, 'Send');
    const cancel = h('button', { type: 'button', class: 'ghost' }, 'Cancel');
    const form = h('div', { class: 'edit-form' }, input, h('div', { class: 'edit-actions' }, cancel, send));
    const restore = () => form.replaceWith(body);
    send.addEventListener('click', () => {
      if (!input.value.trim()) return;
      restore();
      this.actions.edit(index, input.value);
    });
    cancel.addEventListener('click', restore);
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') restore();
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        send.click();
      }
    });
    body.replaceWith(form);
    input.focus();
  }

  /** Newest turns get the handles tests and the stop logic use; only the newest reply offers regenerate. */
  private retag(): void {
    const users = this.transcript.querySelectorAll<HTMLElement>('.turn-user .turn-body');
    const replies = this.transcript.querySelectorAll<HTMLElement>('.turn-assistant .turn-body');
    users.forEach((b, i) => (b.dataset.testid = i === users.length - 1 ? 'last-prompt' : 'user-message'));
    replies.forEach((b, i) => (b.dataset.testid = i === replies.length - 1 ? 'assistant-output' : 'assistant-message'));
    const regenerate = this.transcript.querySelectorAll<HTMLElement>('.regenerate');
    regenerate.forEach((b, i) => {
      const last = i === regenerate.length - 1;
      b.hidden = !last;
      if (last) b.dataset.testid = 'regenerate-button';
      else delete b.dataset.testid;
    });
  }

  private showLive(model: ModelInfo | undefined): void {
    const now = performance.now();
    const decodeSeconds = (now - this.firstTokenAt) / 1000;
    const rate = this.nTokens > 1 && decodeSeconds > 0 ? formatRate((this.nTokens - 1) / decodeSeconds) : '…';
    this.stats.replaceChildren(
      stat('first token', `${Math.round(this.firstTokenAt - this.startedAt)} ms`, 'stat-ttft'),
      stat('decode', `${rate} (${this.nTokens} tokens)`, 'stat-live'),
      contextStat(this.nPrompt + this.nTokens, model),
    );
  }

  private showStats(s: GenerateStats, reason: 'stop' | 'length' | 'abort', model: ModelInfo | undefined): void {
    const why = { stop: 'end of text', length: 'max tokens reached', abort: 'stopped' }[reason];
    const ttft = this.firstTokenAt ? Math.round(this.firstTokenAt - this.startedAt) : Math.round(performance.now() - this.startedAt);
    const parts = [
      stat('prefill', `${formatRate(s.prefillTokPerS)} (${s.nPrompt} prompt tokens${s.nCached ? `, ${s.nCached} reused from the cache` : ''})`, 'stat-prefill'),
      stat('decode', `${formatRate(s.decodeTokPerS)} (${s.nGenerated} tokens)`, 'stat-decode'),
      stat('first token', `${ttft} ms`, 'stat-ttft'),
      contextStat(s.nPrompt + s.nGenerated, model),
      model ? stat('GPU memory', gpuText(model.gpuBytesPeak, model), 'gpu-memory') : null,
      stat('finished', why, 'stat-reason'),
    ];
    this.stats.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  }
}

function gpuText(bytes: number, model: ModelInfo): string {
  return `${formatBytes(bytes)}${model.budgetBytes ? ` of ${formatBytes(model.budgetBytes)} budget` : ''}`;
}

function contextStat(used: number, model: ModelInfo | undefined): HTMLElement {
  return stat('context', model ? `${used.toLocaleString('en-US')} of ${model.ctxSize.toLocaleString('en-US')} tokens` : `${used} tokens`, 'context-usage');
}

function stat(label: string, value: string, testId: string): HTMLElement {
  return h('span', { class: 'stat', 'data-testid': testId }, h('span', { class: 'stat-label' }, label), ' ', value);
}
