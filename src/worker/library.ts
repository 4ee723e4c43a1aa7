// The model library: GGUF files the person dropped, kept in IndexedDB so they
// survive reloads. The File/Blob itself is stored (IndexedDB keeps it on disk
// and hands back a lazy Blob), never read into one big ArrayBuffer; a small
// record beside it lets the page list models without touching the bytes.
// The page adds files; the worker reads them back by id. idb-keyval works in
// both, and both open the same database.

import { createStore, del, entries, get, set, type UseStore } from 'idb-keyval';
import { ClawError } from '../errors';

export interface ModelRecord {
  readonly id: string;
  readonly name: string;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly addedAt: number;
  /** From the header, once the file has been inspected: "llama". */
  readonly architecture?: string;
  /** Tensor types by share of the bytes, once inspected: "Q8_0 75%, F32 25%". */
  readonly quantMix?: string;
  /** A split model (name-00001-of-0000n.gguf): how many files, stored together in order. */
  readonly parts?: number;
}

/** A model's bytes: one file, or the parts of a split model in order. */
export type ModelFile = Blob | Blob[];

/**
 * The few key-value operations the library needs. idb-keyval in the page and
 * the worker; an in-memory map in unit tests (Node has no IndexedDB).
 */
export interface KeyValueStore {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
  entries(): Promise<[string, unknown][]>;
}

export const LIBRARY_DB_NAME = 'webclaw-library';
const LIBRARY_STORE_NAME = 'models';

// Records and files live under separate keys so that listing reads records only.
const RECORD_PREFIX = 'record:';
const FILE_PREFIX = 'file:';

export function indexedDbStore(dbName = LIBRARY_DB_NAME, storeName = LIBRARY_STORE_NAME): KeyValueStore {
  let store: UseStore | undefined;
  // Opened on first use so that merely importing the module never touches IndexedDB.
  const use = (): UseStore => (store ??= createStore(dbName, storeName));
  return {
    get: (key) => get(key, use()),
    set: (key, value) => set(key, value, use()),
    delete: (key) => del(key, use()),
    entries: () => entries<string, unknown>(use()),
  };
}

export class ModelLibrary {
  constructor(
    private readonly store: KeyValueStore = indexedDbStore(),
    private readonly now: () => number = Date.now,
    private readonly newId: () => string = randomId,
  ) {}

  /** Stores the file (or a split model's parts, in order) and returns its record. The same file dropped twice is stored twice. */
  async add(file: ModelFile, name = fileName(Array.isArray(file) ? file[0] : file)): Promise<ModelRecord> {
    const size = Array.isArray(file) ? file.reduce((sum, part) => sum + part.size, 0) : file.size;
    const record: ModelRecord = { id: this.newId(), name, size, addedAt: this.now(), ...(Array.isArray(file) ? { parts: file.length } : {}) };
    try {
      // File first: a record never points at a missing file, even if the second write fails.
      await this.store.set(FILE_PREFIX + record.id, file);
      await this.store.set(RECORD_PREFIX + record.id, record);
    } catch (e) {
      await this.store.delete(FILE_PREFIX + record.id).catch(() => undefined);
      throw storageError(`could not store ${name}`, e);
    }
    return record;
  }

  /** Every stored model, newest first. */
  async list(): Promise<ModelRecord[]> {
    const all = await this.wrap('could not read the model library', () => this.store.entries());
    return all
      .filter(([key, value]) => key.startsWith(RECORD_PREFIX) && isModelRecord(value))
      .map(([, value]) => value as ModelRecord)
      .sort((a, b) => b.addedAt - a.addedAt || a.name.localeCompare(b.name));
  }

  async getRecord(id: string): Promise<ModelRecord | undefined> {
    const value = await this.wrap('could not read the model library', () => this.store.get(RECORD_PREFIX + id));
    return isModelRecord(value) ? value : undefined;
  }

  /** The stored record and Blob; a clw-bad-request error when the id is unknown. */
  async get(id: string): Promise<{ record: ModelRecord; file: ModelFile }> {
    const record = await this.getRecord(id);
    const file = await this.wrap('could not read the model library', () => this.store.get(FILE_PREFIX + id));
    const isFile = file instanceof Blob || (Array.isArray(file) && file.length > 0 && file.every((part) => part instanceof Blob));
    if (!record || !isFile) {
      throw new ClawError('clw-bad-request', `no stored model with id ${id}`, {
        fix: 'Drop the .gguf file again; it may have been removed or the browser cleared its storage.',
        details: { id },
      });
    }
    return { record, file: file as ModelFile };
  }

  /** Adds what the header says (architecture, quant mix) to a stored record; an unknown id is ignored. */
  async describe(id: string, facts: Pick<ModelRecord, 'architecture' | 'quantMix'>): Promise<ModelRecord | undefined> {
    const record = await this.getRecord(id);
    if (!record) return undefined;
    const updated: ModelRecord = { ...record, ...facts };
    await this.wrap('could not update the model library', () => this.store.set(RECORD_PREFIX + id, updated));
    return updated;
  }

  async remove(id: string): Promise<void> {
    await this.wrap('could not remove the model', async () => {
      await this.store.delete(RECORD_PREFIX + id);
      await this.store.delete(FILE_PREFIX + id);
    });
  }

  private async wrap<T>(what: string, action: () => Promise<T>): Promise<T> {
    try {
      return await action();
    } catch (e) {
      throw storageError(what, e);
    }
  }
}

function storageError(what: string, cause: unknown): ClawError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ClawError('clw-bad-request', `${what}: ${reason}`, {
    fix: 'The browser refused to store or read the file (private mode or a full disk?); free space or use a normal window.',
    cause,
  });
}

function fileName(file: Blob): string {
  return 'name' in file && typeof file.name === 'string' && file.name ? file.name : 'model.gguf';
}

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

function isModelRecord(value: unknown): value is ModelRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.id === 'string' && typeof r.name === 'string' && typeof r.size === 'number' && typeof r.addedAt === 'number';
}
