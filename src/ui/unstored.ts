// Files the browser refused to store (private window, full disk): the worker
// keeps them for the tab. The page keeps their bytes too, so that a fresh
// worker (after a cancelled load) gets them back under the same ids.

import type { WorkerClient } from '../worker/client';
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

  async keep(worker: WorkerClient, file: ModelFile, name: string): Promise<ModelRecord> {
    const record = await worker.keepUnstored(file, name);
    this.files.set(record.id, { record, file });
    return record;
  }

  /** Gives every kept file to a new worker. */
  handOver(worker: WorkerClient, onError: (e: unknown) => void): void {
    for (const { record, file } of this.files.values()) void worker.keepUnstored(file, record.name, record).catch(onError);
  }

  async forget(worker: WorkerClient, id: string): Promise<void> {
    this.files.delete(id);
    await worker.forgetUnstored(id);
  }
}
