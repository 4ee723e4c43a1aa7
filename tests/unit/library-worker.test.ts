// The worker's service layer (src/worker/service.ts) over a fake engine: the
// request queue, abort, and errors crossing as serialized ClawErrors.
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import type { GenerateEvent, GenerateStats } from '../../src/engine/types';
import { BytesSource } from '../../src/gguf/source';
import type { ModelRecord } from '../../src/worker/library';
import { WorkerService, type WorkerEngine } from '../../src/worker/service';

const stats: GenerateStats = { nPrompt: 1, nCached: 0, nGenerated: 3, prefillMs: 1, firstTokenMs: 1, decodeMs: 1, prefillTokPerS: 1, decodeTokPerS: 1 };
const record: ModelRecord = { id: 'm1', name: 'm.gguf', size: 4, addedAt: 0 };

/** A fake engine whose generations yield one token per macrotask, so concurrent ones could interleave. */
function fakeEngine(log: string[]): WorkerEngine {
  return {
    async inspect(source) {
      log.push(`inspect ${source.name}`);
      throw new ClawError('clw-model-invalid', 'magic at byte 0: not GGUF', { fix: 'pick another file', details: { offset: 0 } });
    },
    async load(source, _options, onProgress) {
      onProgress?.({ phase: 'upload', fraction: 0.5 });
      return { architecture: 'llama', nLayers: 1, nEmbd: 8, nVocab: 10, ctxSize: 16, adapter: 'fake', gpuBytesPeak: source.size, loadMs: 1, dtype: 'f32' };
    },
    async *generate(input, options) {
      const tag = String(input);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 1));
        if (options?.signal?.aborted) {
          yield { type: 'done', reason: 'abort', stats: { ...stats, nGenerated: i } };
          return;
        }
        log.push(`${tag}${i}`);
        yield { type: 'token', tokenId: i, text: `${tag}${i}` };
      }
      yield { type: 'done', reason: 'length', stats };
    },
    async unload() {
      log.push('unload');
    },
  };
}

function makeService(log: string[], createEngine = async () => fakeEngine(log)) {
  return new WorkerService({
    library: {
      list: async () => [record],
      get: async (id) => {
        if (id !== record.id) throw new ClawError('clw-bad-request', `no stored model with id ${id}`);
        return { record, file: new Blob([new Uint8Array(4)]) };
      },
    },
    createEngine,
    openSource: (_file, r) => new BytesSource(new Uint8Array(r.size), r.name),
  });
}

describe('worker service', () => {
  it('runs a second generate only after the first one finished', async () => {
    const log: string[] = [];
    const service = makeService(log);
    const events: GenerateEvent[] = [];
    const [a, b] = await Promise.all([
      service.generate('a', {}, (e) => events.push(e)),
      service.generate('b', {}, (e) => events.push(e)),
    ]);
    expect(log).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2']);
    expect(a).toEqual({ ok: true, value: { stats, reason: 'length' } });
    expect(b.ok).toBe(true);
    expect(events.filter((e) => e.type === 'done')).toHaveLength(2);
  });

  it('abort stops the running generation and lets the queued one run', async () => {
    const log: string[] = [];
    const service = makeService(log);
    const first = service.generate('a', {}, () => undefined);
    const second = service.generate('b', {}, () => undefined);
    await new Promise((r) => setTimeout(r, 3));
    await service.abort();
    const outcome = await first;
    expect(outcome.ok && outcome.value.reason).toBe('abort');
    expect(log.filter((l) => l.startsWith('a')).length).toBeLessThan(3);
    expect(await second).toEqual({ ok: true, value: { stats, reason: 'length' } });
  });

  it('sends engine errors across as serialized ClawErrors with code, fix and details', async () => {
    const service = makeService([]);
    const outcome = await service.inspect('m1');
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'clw-model-invalid', message: 'magic at byte 0: not GGUF', fix: 'pick another file', details: { offset: 0 } },
    });
    // A plain structured clone keeps it intact, and the page can rebuild the ClawError.
    const rebuilt = ClawError.fromJSON(structuredClone(outcome.ok ? undefined! : outcome.error));
    expect(rebuilt.toString()).toBe('clw-model-invalid: magic at byte 0: not GGUF');
  });

  it('wraps an unexpected exception as clw-llm-crash instead of throwing', async () => {
    const service = makeService([], async () => ({ ...fakeEngine([]), generate: () => { throw new TypeError('boom'); } }));
    const outcome = await service.generate('x', {}, () => undefined);
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.code).toBe('clw-llm-crash');
    expect(!outcome.ok && outcome.error.message).toBe('boom');
  });

  it('reports a missing WebGPU as clw-init-fail and tries again on the next request', async () => {
    let attempts = 0;
    const service = makeService([], async () => {
      attempts++;
      if (attempts === 1) throw new ClawError('clw-init-fail', 'navigator.gpu is undefined');
      return fakeEngine([]);
    });
    const first = await service.load('m1', {}, () => undefined);
    expect(!first.ok && first.error.code).toBe('clw-init-fail');
    const progress: number[] = [];
    const second = await service.load('m1', {}, (p) => progress.push(p.fraction));
    expect(second.ok && second.value.architecture).toBe('llama');
    expect(progress).toEqual([0.5]);
    expect(attempts).toBe(2);
  });

  it('keeps working after a listener on the page throws', async () => {
    const service = makeService([]);
    const outcome = await service.generate('a', {}, () => {
      throw new Error('page went away');
    });
    expect(outcome.ok).toBe(true);
  });

  it('answers an unknown model id with a typed error', async () => {
    const outcome = await makeService([]).load('missing', {}, () => undefined);
    expect(!outcome.ok && outcome.error.code).toBe('clw-bad-request');
  });
});

describe('files the browser would not store', () => {
  it('are kept in the worker for the tab: inspected and loaded by their record, then forgotten', async () => {
    const log: string[] = [];
    const service = makeService(log);
    const kept = await service.keepUnstored(new Blob([new Uint8Array(7)]), 'private.gguf');
    if (!kept.ok) throw new Error('keepUnstored failed');
    expect(kept.value).toMatchObject({ name: 'private.gguf', size: 7 });
    expect(kept.value.id).toMatch(/^unstored:/);
    const loaded = await service.load(kept.value.id, {}, () => undefined);
    expect(loaded.ok && loaded.value.gpuBytesPeak).toBe(7);
    await service.inspect(kept.value.id);
    expect(log).toContain('inspect private.gguf');
    await service.forgetUnstored(kept.value.id);
    const again = await service.load(kept.value.id, {}, () => undefined);
    expect(again.ok).toBe(false);
  });
});

describe('GPU memory in use', () => {
  it('is 0 before the engine exists, then what its allocator holds', async () => {
    const engine = { ...fakeEngine([]), allocator: { liveBytes: () => 12345 } };
    const service = makeService([], async () => engine);
    expect(await service.gpuBytesInUse()).toEqual({ ok: true, value: 0 });
    await service.load(record.id, {}, () => undefined);
    expect(await service.gpuBytesInUse()).toEqual({ ok: true, value: 12345 });
  });
});
