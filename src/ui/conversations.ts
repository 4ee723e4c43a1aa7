// Conversations, kept in IndexedDB so they survive reloads: each one is its
// turns, its system prompt and the model it was held with. One record per
// conversation, under its id; the list reads them all (conversations are
// small next to a model file).

import { ClawError } from '../errors';
import type { ChatMessage, ToolCall } from '../engine/types';
import { indexedDbStore, type KeyValueStore } from '../worker/library';

export interface Turn {
  role: 'user' | 'assistant';
  content: string;
  /** A raw-prompt continuation: shown as plain text, not Markdown, and not sent as chat history. */
  raw?: boolean;
  /** A reply's tool calls (shown as such, sent back with the history). */
  toolCalls?: ToolCall[];
}

export interface Conversation {
  id: string;
  title: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  updatedAt: number;
  systemPrompt: string;
  modelId?: string;
  modelName?: string;
  turns: Turn[];
}

export const CHATS_DB_NAME = 'webclaw-chats';
const TITLE_LENGTH = 48;

/** A title from the first words of the first message: one line, at most TITLE_LENGTH characters. */
export function titleFrom(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (!line) return 'New chat';
  return line.length <= TITLE_LENGTH ? line : `${line.slice(0, TITLE_LENGTH - 1).trimEnd()}…`;
}

export class ConversationStore {
  constructor(
    private readonly store: KeyValueStore = indexedDbStore(CHATS_DB_NAME, 'conversations'),
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = () => globalThis.crypto.randomUUID(),
  ) {}

  /** A new conversation, not yet stored (it is stored with its first turn). */
  create(systemPrompt: string): Conversation {
    const t = this.now();
    return { id: this.newId(), title: 'New chat', createdAt: t, updatedAt: t, systemPrompt, turns: [] };
  }

  /** Every stored conversation, most recently used first. */
  async list(): Promise<Conversation[]> {
    const all = await this.wrap('could not read the conversations', () => this.store.entries());
    return all
      .map(([, value]) => value)
      .filter(isConversation)
      .sort((a, b) => b.updatedAt - a.updatedAt || a.title.localeCompare(b.title));
  }

  /** Stores the conversation as it is now; a conversation still titled "New chat" takes its first message's words. */
  async save(conversation: Conversation): Promise<Conversation> {
    const firstUser = conversation.turns.find((t) => t.role === 'user');
    const title = conversation.title === 'New chat' && firstUser ? titleFrom(firstUser.content) : conversation.title;
    const saved: Conversation = { ...conversation, title, updatedAt: this.now(), turns: conversation.turns.map((t) => ({ ...t })) };
    await this.wrap('could not store the conversation', () => this.store.set(saved.id, saved));
    return saved;
  }

  async rename(conversation: Conversation, title: string): Promise<Conversation> {
    const trimmed = title.replace(/\s+/g, ' ').trim();
    if (!trimmed) throw new ClawError('clw-bad-request', 'a conversation needs a title', { fix: 'Type a title, or press Escape to keep the old one.' });
    const renamed: Conversation = { ...conversation, title: trimmed };
    await this.wrap('could not store the conversation', () => this.store.set(renamed.id, renamed));
    return renamed;
  }

  async remove(id: string): Promise<void> {
    await this.wrap('could not delete the conversation', () => this.store.delete(id));
  }

  private async wrap<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (e) {
      throw new ClawError('clw-bad-request', `${what}: ${e instanceof Error ? e.message : String(e)}`, {
        fix: 'The browser refused its storage (private window or a full disk?); the conversation stays on this page until it is closed.',
        cause: e,
      });
    }
  }
}

function isConversation(value: unknown): value is Conversation {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  return (
    typeof c.id === 'string' &&
    typeof c.title === 'string' &&
    typeof c.updatedAt === 'number' &&
    typeof c.createdAt === 'number' &&
    typeof c.systemPrompt === 'string' &&
    Array.isArray(c.turns) &&
    c.turns.every((t) => typeof t === 'object' && t !== null && (t.role === 'user' || t.role === 'assistant') && typeof t.content === 'string')
  );
}

/** The chat request for a conversation: its system prompt, then its chat turns (raw continuations left out). */
export function chatMessages(conversation: Pick<Conversation, 'systemPrompt' | 'turns'>): ChatMessage[] {
  const messages: ChatMessage[] = [];
  if (conversation.systemPrompt.trim()) messages.push({ role: 'system', content: conversation.systemPrompt });
  for (const t of conversation.turns) {
    if (t.raw) continue;
    messages.push(t.toolCalls?.length ? { role: t.role, content: t.content, toolCalls: t.toolCalls } : { role: t.role, content: t.content });
  }
  return messages;
}
