// Files the browser refused to store (private window, full disk): the page
// keeps them for the tab, under records of their own, so they inspect, load
// and chat like stored ones until the tab closes.

import type { ModelFile, ModelRecord } from '../worker/library';

export class UnstoredModels {
  private readonly files = new Map<string, { record: ModelRecord; file: ModelFile }>();

  /** Newest first. */
  get records(): ModelRecord[] {
    return [...this.files.values()].map((f) => f.record).reverse();
  }

  has(id: string): boolean {
    return this.files.has(id);
  }

  get(id: string): { record: ModelRecord; file: ModelFile } | undefined {
    return this.files.get(id);
  }

  keep(file: ModelFile, name: string): ModelRecord {
    const size = Array.isArray(file) ? file.reduce((sum, part) => sum + part.size, 0) : file.size;
    const record: ModelRecord = { id: `unstored:${globalThis.crypto.randomUUID()}`, name, size, addedAt: Date.now(), ...(Array.isArray(file) ? { parts: file.length } : {}) };
    this.files.set(record.id, { record, file });
    return record;
  }

  forget(id: string): void {
    this.files.delete(id);
  }
}
