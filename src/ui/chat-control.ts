// The conversations: the prompt box, a reply streamed from whatever answers
// (the model loaded here or the remote server), regenerating and editing
// turns, and the stored conversations (list, open, rename, remove, system
// prompt).

import type { WebClawEngine } from '../api/engine';
import { ClawError, toClawError } from '../errors';
import type { ModelRecord } from '../worker/library';
import { ChatView } from './chat-view';
import { ConversationList } from './conversation-list';
import { chatMessages, type Conversation, type ConversationStore, type Turn } from './conversations';
import { byTestId } from './dom';
import type { OutputPanel } from './output-settings';
import type { Page } from './page';
import type { RemoteEngine } from './remote-server';
import { streamReply, type ReplyInput } from './reply-stream';

/** What the conversations ask of the models' side. */
export interface Answerer {
  /** What answers now; throws when nothing does. */
  backend(): RemoteEngine | WebClawEngine;
  /** The model loaded here, if one is. */
  localEngine(): WebClawEngine | undefined;
  /** Shows a model's compatibility report, ready to load. */
  openModel(record: ModelRecord): Promise<void>;
}

export class ChatControl {
  private readonly chat = new ChatView({ edit: (i, text) => void this.editTurn(i, text), regenerate: () => void this.regenerate() });
  private readonly conversationList = new ConversationList({
    open: (c) => this.openConversation(c),
    rename: (c, title) => void this.renameConversation(c, title),
    remove: (c) => void this.removeConversation(c),
  });
  private readonly promptInput = byTestId<HTMLTextAreaElement>('prompt-input');
  private readonly sendButton = byTestId<HTMLButtonElement>('send-button');
  private readonly stopButton = byTestId<HTMLButtonElement>('stop-button');
  private readonly newChatButton = byTestId<HTMLButtonElement>('new-chat-button');
  private readonly modelHint = byTestId('model-hint');
  private readonly chatTitle = byTestId('conversation-heading');
  /** Stops the running reply. */
  private stopReply: AbortController | undefined;

  constructor(
    private readonly page: Page,
    private readonly chats: ConversationStore,
    private readonly output: OutputPanel,
    private readonly models: Answerer,
  ) {
    byTestId<HTMLFormElement>('prompt-form').addEventListener('submit', (e) => {
      e.preventDefault();
      void this.send();
    });
    this.promptInput.addEventListener('keydown', (e) => {
      // Enter sends, Shift+Enter makes a new line.
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (!this.sendButton.disabled) void this.send();
      }
    });
    this.stopButton.addEventListener('click', () => this.stopReply?.abort(new ClawError('clw-aborted', 'stopped')));
    this.newChatButton.addEventListener('click', () => this.newChat());
  }

  render(idle: boolean): void {
    const { state } = this.page;
    this.sendButton.disabled = !idle || !state.loaded;
    this.stopButton.disabled = state.busy !== 'generating';
    this.newChatButton.disabled = !idle || state.current.turns.length === 0;
    this.chat.setBusy(!idle);
    this.chatTitle.textContent = state.current.title;
    const used = state.current.modelName && state.current.modelId !== state.loaded?.id ? ` This conversation was held with ${state.current.modelName}.` : '';
    this.modelHint.textContent = (state.loaded ? `Talking to ${state.loaded.name}.` : 'Load a model to start.') + used;
    this.conversationList.render(state.conversations, state.current.id, !idle);
  }

  async refreshConversations(): Promise<void> {
    const { state } = this.page;
    state.conversations = await this.chats.list().catch((e: unknown) => {
      this.page.banner.show(e);
      return state.conversations;
    });
    this.page.render();
  }

  /** Back where the person left off: the most recent conversation, else the new one the page started with. */
  resume(): void {
    const recent = this.page.state.conversations[0];
    if (recent) this.openConversation(recent);
    else this.bindSystemPrompt();
  }

  private bindSystemPrompt(): void {
    this.page.settings.bindSystemPrompt(this.page.state.current.systemPrompt, (value) => void this.changeSystemPrompt(value));
  }

  private send(): Promise<void> {
    const prompt = this.promptInput.value;
    if (!prompt.trim()) {
      this.page.banner.show(new ClawError('clw-bad-request', 'the prompt is empty', { fix: 'Type a prompt first.' }));
      return Promise.resolve();
    }
    const raw = this.page.settings.mode === 'raw';
    const user: Turn = raw ? { role: 'user', content: prompt, raw } : { role: 'user', content: prompt };
    return this.reply(user, () => {
      // A chat moves on to the next message; a raw prompt stays, to be tried again with other settings.
      if (!raw && this.promptInput.value === prompt) this.promptInput.value = '';
    });
  }

  /** Answers the conversation: with a new user turn, or (none) again for its last user turn, whose reply `replacing` was. */
  private reply(user: Turn | undefined, onDone?: () => void, replacing?: Turn): Promise<void> {
    const { page, chat } = this;
    return page.act('generating', async () => {
      const conversation = page.state.current;
      const lastUser = user ?? [...conversation.turns].reverse().find((t) => t.role === 'user');
      if (!lastUser) throw new ClawError('clw-bad-request', 'there is no message to answer', { fix: 'Type a message first.' });
      const options = page.settings.generateOptions();
      const answering = this.models.backend();
      const raw = !!lastUser.raw;
      Object.assign(options, this.output.options(raw));
      if (user) conversation.turns.push(user);
      const input: ReplyInput = raw ? lastUser.content : chatMessages(conversation);
      chat.begin(user, conversation.turns.length - (user ? 1 : 0), raw);
      let note: string | undefined;
      const stop = new AbortController();
      this.stopReply = stop;
      try {
        await streamReply(answering, input, options, stop.signal, (event) => chat.onEvent(event, page.state.info));
      } catch (e) {
        if (this.stopReply === stop) this.stopReply = undefined;
        const err = toClawError(e);
        // A stop during the prompt is not a failure.
        if (err.code !== 'clw-aborted') {
          if (!chat.text) this.takeBack(conversation, user, replacing);
          chat.end('Failed.');
          if (chat.text) conversation.turns.push({ role: 'assistant', content: chat.text, ...(raw ? { raw } : {}) });
          await this.saveCurrent();
          throw err;
        }
        note = 'Stopped.';
      }
      if (this.stopReply === stop) this.stopReply = undefined;
      chat.end(note);
      const local = this.models.localEngine();
      if (local && local === answering) void local.gpuBytesInUse().then((bytes) => chat.showGpuBytes(bytes, page.state.info), () => undefined);
      conversation.turns.push({ role: 'assistant', content: chat.text, ...(raw ? { raw } : {}) });
      if (chat.toolCalls.length) conversation.turns.at(-1)!.toolCalls = chat.toolCalls;
      conversation.modelId = page.state.loaded?.id;
      conversation.modelName = page.state.loaded?.name;
      await this.saveCurrent();
      onDone?.();
    });
  }

  /** The generate options are valid (else the banner says which is not): checked before a turn is dropped. */
  private settingsValid(): boolean {
    try {
      this.page.settings.generateOptions();
      this.output.options(false);
      return true;
    } catch (e) {
      this.page.banner.show(e);
      return false;
    }
  }

  private regenerate(): Promise<void> {
    const { state } = this.page;
    const turns = state.current.turns;
    // Busy (a reply still being stored): nothing is dropped, the click does nothing.
    if (state.busy !== 'idle' || turns.at(-1)?.role !== 'assistant' || !this.settingsValid()) return Promise.resolve();
    const old = turns.pop();
    this.chat.show(state.current);
    return this.reply(undefined, undefined, old);
  }

  /**
   * A reply failed before writing anything: the conversation is put back as it
   * was (a new message's text stays in the prompt box, a regenerated reply
   * returns), so that it keeps alternating: two user turns in a row are
   * refused by many chat templates, and the conversation could not go on.
   */
  private takeBack(conversation: Conversation, user: Turn | undefined, replacing: Turn | undefined): void {
    if (user) {
      conversation.turns.pop();
      if (!this.promptInput.value.trim()) this.promptInput.value = user.content;
    } else if (replacing) conversation.turns.push(replacing);
    this.chat.show(conversation);
  }

  private editTurn(index: number, text: string): Promise<void> {
    const { state } = this.page;
    const old = state.current.turns[index];
    if (state.busy !== 'idle' || !old || old.role !== 'user' || !this.settingsValid()) return Promise.resolve();
    state.current.turns = state.current.turns.slice(0, index);
    this.chat.show(state.current);
    return this.reply({ ...old, content: text });
  }

  private async saveCurrent(): Promise<void> {
    try {
      this.page.state.current = await this.chats.save(this.page.state.current);
    } catch (e) {
      // Not stored (private window, full disk): the conversation goes on in this page.
      this.page.banner.show(e);
    }
    await this.refreshConversations();
  }

  private openConversation(conversation: Conversation): void {
    const { state } = this.page;
    if (state.busy !== 'idle') return;
    state.current = structuredClone(conversation);
    this.chat.show(state.current);
    this.bindSystemPrompt();
    this.page.render();
    // The conversation's model, if it is not the loaded one: show its report, ready to load.
    const record = state.records.find((r) => r.id === conversation.modelId);
    if (record && record.id !== state.loaded?.id && record.id !== state.selected?.id) void this.models.openModel(record);
  }

  private newChat(): void {
    this.openConversation(this.chats.create(this.page.settings.defaultSystemPrompt));
  }

  private async changeSystemPrompt(value: string): Promise<void> {
    this.page.state.current.systemPrompt = value;
    if (this.page.state.current.turns.length > 0) await this.saveCurrent();
  }

  private async renameConversation(conversation: Conversation, title: string): Promise<void> {
    const { page } = this;
    await page.act('inspecting', async () => {
      const renamed = await this.chats.rename(conversation, title);
      if (page.state.current.id === renamed.id) page.state.current.title = renamed.title;
      await this.refreshConversations();
    });
  }

  private async removeConversation(conversation: Conversation): Promise<void> {
    await this.page.act('inspecting', async () => {
      await this.chats.remove(conversation.id);
      await this.refreshConversations();
    });
    if (this.page.state.current.id === conversation.id) this.newChat();
  }
}
