import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { chatMessages, ConversationStore, titleFrom } from '../../src/ui/conversations';
import type { KeyValueStore } from '../../src/worker/library';

/** Node has no IndexedDB; the store is tested over a Map with the same contract. */
class MemoryStore implements KeyValueStore {
  readonly map = new Map<string, unknown>();
  failWrites = false;
  async get(key: string) {
    return structuredClone(this.map.get(key));
  }
  async set(key: string, value: unknown) {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.map.set(key, structuredClone(value));
  }
  async delete(key: string) {
    this.map.delete(key);
  }
  async entries() {
    return [...this.map.entries()].map(([k, v]) => [k, structuredClone(v)] as [string, unknown]);
  }
}

function makeStore() {
  let clock = 1000;
  let n = 0;
  const kv = new MemoryStore();
  return { kv, chats: new ConversationStore(kv, () => clock++, () => `c${++n}`) };
}

describe('ConversationStore', () => {
  it('stores a conversation with its turns, model and system prompt, titled by its first message', async () => {
    const { chats } = makeStore();
    const c = chats.create('Be brief.');
    expect(await chats.list()).toEqual([]);
    c.turns.push({ role: 'user', content: '  How do\nrainbows form?  ' }, { role: 'assistant', content: 'Light **bends**.' });
    c.modelId = 'm1';
    c.modelName = 'tiny.gguf';
    const saved = await chats.save(c);
    expect(saved.title).toBe('How do rainbows form?');
    const [listed] = await chats.list();
    expect(listed).toEqual(saved);
    expect(listed.systemPrompt).toBe('Be brief.');
    expect(listed.modelName).toBe('tiny.gguf');
    expect(listed.turns).toHaveLength(2);
  });

  it('lists the most recently used first, renames and deletes', async () => {
    const { chats } = makeStore();
    const a = await chats.save({ ...chats.create(''), turns: [{ role: 'user', content: 'first' }] });
    const b = await chats.save({ ...chats.create(''), turns: [{ role: 'user', content: 'second' }] });
    expect((await chats.list()).map((c) => c.id)).toEqual([b.id, a.id]);
    await chats.save(a);
    expect((await chats.list()).map((c) => c.id)).toEqual([a.id, b.id]);
    const renamed = await chats.rename(b, '  Trip   plans ');
    expect(renamed.title).toBe('Trip plans');
    // A renamed conversation keeps its title when saved again.
    expect((await chats.save(renamed)).title).toBe('Trip plans');
    await expect(chats.rename(b, '   ')).rejects.toThrow(ClawError);
    await chats.remove(a.id);
    expect((await chats.list()).map((c) => c.title)).toEqual(['Trip plans']);
  });

  it('skips records that are not conversations and reports a refused write as a coded error', async () => {
    const { kv, chats } = makeStore();
    kv.map.set('junk', { id: 1 });
    expect(await chats.list()).toEqual([]);
    kv.failWrites = true;
    const err = await chats.save(chats.create('')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClawError);
    expect((err as ClawError).code).toBe('clw-bad-request');
    expect((err as ClawError).message).toContain('QuotaExceededError');
  });
});

describe('chat requests from a conversation', () => {
  it('puts the system prompt first and leaves raw continuations out', () => {
    expect(
      chatMessages({
        systemPrompt: 'You are terse.',
        turns: [
          { role: 'user', content: 'Once upon a time', raw: true },
          { role: 'assistant', content: ', there was', raw: true },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello.' },
        ],
      }),
    ).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello.' },
    ]);
    expect(chatMessages({ systemPrompt: '  ', turns: [] })).toEqual([]);
  });

  it('titles long first messages with an ellipsis and empty ones as a new chat', () => {
    expect(titleFrom('x'.repeat(100))).toHaveLength(48);
    expect(titleFrom('x'.repeat(100)).endsWith('…')).toBe(true);
    expect(titleFrom(' \n ')).toBe('New chat');
  });
});
