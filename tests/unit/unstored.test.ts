import { describe, expect, it } from 'vitest';
import { UnstoredModels } from '../../src/ui/unstored';
import type { WorkerClient } from '../../src/worker/client';
import type { ModelFile, ModelRecord } from '../../src/worker/library';

/** The two worker calls UnstoredModels uses, recorded. */
function fakeWorker(log: unknown[][]): WorkerClient {
  let n = 0;
  return {
    async keepUnstored(file: ModelFile, name: string, record?: ModelRecord) {
      log.push(['keep', name, record?.id]);
      return record ?? { id: `unstored:${++n}`, name, size: (file as Blob).size, addedAt: n };
    },
    async forgetUnstored(id: string) {
      log.push(['forget', id]);
    },
  } as unknown as WorkerClient;
}

describe('files the browser would not store, on the page side', () => {
  it('are listed newest first, handed to a fresh worker under the same ids, and forgotten', async () => {
    const old = fakeWorker([]);
    const models = new UnstoredModels();
    const a = await models.keep(old, new Blob([new Uint8Array(2)]), 'a.gguf');
    const b = await models.keep(old, new Blob([new Uint8Array(3)]), 'b.gguf');
    expect(models.records.map((r) => r.name)).toEqual(['b.gguf', 'a.gguf']);
    expect(models.has(a.id)).toBe(true);

    const fresh: unknown[][] = [];
    models.handOver(fakeWorker(fresh), () => undefined);
    await Promise.resolve();
    expect(fresh).toEqual([
      ['keep', 'a.gguf', a.id],
      ['keep', 'b.gguf', b.id],
    ]);

    await models.forget(fakeWorker(fresh), a.id);
    expect(models.has(a.id)).toBe(false);
    expect(fresh.at(-1)).toEqual(['forget', a.id]);
    expect(models.records.map((r) => r.name)).toEqual(['b.gguf']);
  });
});
