import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { ModelLibrary, type KeyValueStore } from '../../src/worker/library';

/** Node has no IndexedDB; the library is tested over a Map with the same contract. */
class MemoryStore implements KeyValueStore {
  readonly map = new Map<string, unknown>();
  failWrites = false;
  async get(key: string) {
    return this.map.get(key);
  }
  async set(key: string, value: unknown) {
    if (this.failWrites) throw new Error('QuotaExceededError');
    this.map.set(key, value);
  }
  async delete(key: string) {
    this.map.delete(key);
  }
  async entries() {
    return [...this.map.entries()];
  }
}

function makeLibrary(store = new MemoryStore()) {
  let clock = 1000;
  let counter = 0;
  const library = new ModelLibrary(store, () => clock++, () => `id-${++counter}`);
  return { library, store };
}

describe('ModelLibrary', () => {
  it('stores a dropped file and lists a small record of it', async () => {
    const { library } = makeLibrary();
    const file = new File([new Uint8Array([1, 2, 3, 4, 5])], 'tiny.gguf');
    const record = await library.add(file);
    expect(record).toEqual({ id: 'id-1', name: 'tiny.gguf', size: 5, addedAt: 1000 });
    expect(await library.list()).toEqual([record]);
  });

  it('keeps the Blob itself rather than a copy of its bytes', async () => {
    const { library } = makeLibrary();
    const file = new File([new Uint8Array([9, 8, 7])], 'm.gguf');
    const { id } = await library.add(file);
    const stored = await library.get(id);
    expect(stored.file).toBe(file);
    expect(new Uint8Array(await (stored.file as Blob).slice(1, 3).arrayBuffer())).toEqual(new Uint8Array([8, 7]));
  });

  it('lists the newest model first and never returns file entries as records', async () => {
    const { library } = makeLibrary();
    await library.add(new File([new Uint8Array(1)], 'old.gguf'));
    await library.add(new File([new Uint8Array(2)], 'new.gguf'));
    expect((await library.list()).map((r) => r.name)).toEqual(['new.gguf', 'old.gguf']);
  });

  it('names a plain Blob model.gguf unless a name is given', async () => {
    const { library } = makeLibrary();
    expect((await library.add(new Blob([new Uint8Array(1)]))).name).toBe('model.gguf');
    expect((await library.add(new Blob([new Uint8Array(1)]), 'given.gguf')).name).toBe('given.gguf');
  });

  it('removes both the record and the file', async () => {
    const { library, store } = makeLibrary();
    const { id } = await library.add(new File([new Uint8Array(3)], 'gone.gguf'));
    await library.remove(id);
    expect(await library.list()).toEqual([]);
    expect(store.map.size).toBe(0);
  });

  it('answers an unknown id with a typed error, not undefined bytes', async () => {
    const { library } = makeLibrary();
    const err = await library.get('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClawError);
    expect((err as ClawError).code).toBe('clw-bad-request');
    expect((err as ClawError).fix).toMatch(/Drop the .gguf file again/);
  });

  it('turns a refused write into a typed error and leaves nothing half-stored', async () => {
    const { library, store } = makeLibrary();
    store.failWrites = true;
    const err = await library.add(new File([new Uint8Array(3)], 'big.gguf')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClawError);
    expect((err as ClawError).message).toMatch(/could not store big.gguf: QuotaExceededError/);
    expect(await library.list()).toEqual([]);
    expect(store.map.size).toBe(0);
  });

  it('ignores malformed records left by another version', async () => {
    const { library, store } = makeLibrary();
    store.map.set('record:bad', { id: 'bad' });
    const good = await library.add(new File([new Uint8Array(1)], 'ok.gguf'));
    expect(await library.list()).toEqual([good]);
    expect(await library.getRecord('bad')).toBeUndefined();
  });
});

describe('ModelLibrary.describe', () => {
  it('adds the architecture and quant mix to a stored record and keeps the file', async () => {
    const { library } = makeLibrary();
    const record = await library.add(new File([new Uint8Array(8)], 'm.gguf'));
    const updated = await library.describe(record.id, { architecture: 'llama', quantMix: 'Q8_0 75%, F32 25%' });
    expect(updated).toEqual({ ...record, architecture: 'llama', quantMix: 'Q8_0 75%, F32 25%' });
    expect(await library.list()).toEqual([updated]);
    expect(((await library.get(record.id)).file as Blob).size).toBe(8);
    expect(await library.describe('missing', { architecture: 'x' })).toBeUndefined();
  });
});

describe('split models in the library', () => {
  it('stores the parts together, in order, under one record with their total size', async () => {
    const { library } = makeLibrary();
    const parts = [new File([new Uint8Array(3)], 'm-00001-of-00002.gguf'), new File([new Uint8Array(5)], 'm-00002-of-00002.gguf')];
    const record = await library.add(parts, 'm.gguf');
    expect(record).toMatchObject({ name: 'm.gguf', size: 8, parts: 2 });
    const stored = await library.get(record.id);
    expect(Array.isArray(stored.file)).toBe(true);
    expect((stored.file as Blob[]).map((b) => b.size)).toEqual([3, 5]);
  });
});
