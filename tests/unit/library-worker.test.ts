// The header worker's service layer (src/worker/service.ts) over a fake
// engine: errors crossing as serialized ClawErrors, a missing WebGPU retried,
// and the metadata read from the file the page hands over.
import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { GgmlType } from '../../src/gguf/types';
import { kv, writeGguf } from '../../src/gguf/writer';
import { WorkerService, type InspectingEngine } from '../../src/worker/service';

function fakeEngine(log: string[]): InspectingEngine {
  return {
    async inspect(source) {
      log.push(`inspect ${source.name} ${source.size}`);
      throw new ClawError('clw-model-invalid', 'magic at byte 0: not GGUF', { fix: 'pick another file', details: { offset: 0 } });
    },
  };
}

describe('header worker service', () => {
  it('sends engine errors across as serialized ClawErrors with code, fix and details', async () => {
    const log: string[] = [];
    const service = new WorkerService({ createEngine: async () => fakeEngine(log) });
    const outcome = await service.inspect(new File([new Uint8Array(4)], 'm.gguf'));
    expect(log).toEqual(['inspect m.gguf 4']);
    expect(outcome).toEqual({
      ok: false,
      error: { code: 'clw-model-invalid', message: 'magic at byte 0: not GGUF', fix: 'pick another file', details: { offset: 0 } },
    });
    // A plain structured clone keeps it intact, and the page can rebuild the ClawError.
    const rebuilt = ClawError.fromJSON(structuredClone(outcome.ok ? undefined! : outcome.error));
    expect(rebuilt.toString()).toBe('clw-model-invalid: magic at byte 0: not GGUF');
  });

  it('wraps an unexpected exception as clw-llm-crash instead of throwing', async () => {
    const service = new WorkerService({ createEngine: async () => ({ inspect: () => { throw new TypeError('boom'); } }) });
    const outcome = await service.inspect(new Blob([]));
    expect(!outcome.ok && outcome.error.code).toBe('clw-llm-crash');
    expect(!outcome.ok && outcome.error.message).toBe('boom');
  });

  it('reports a missing WebGPU as clw-init-fail and tries again on the next request', async () => {
    let attempts = 0;
    const log: string[] = [];
    const service = new WorkerService({
      createEngine: async () => {
        attempts++;
        if (attempts === 1) throw new ClawError('clw-init-fail', 'navigator.gpu is undefined');
        return fakeEngine(log);
      },
    });
    const first = await service.inspect(new Blob([]));
    expect(!first.ok && first.error.code).toBe('clw-init-fail');
    await service.inspect(new File([new Uint8Array(2)], 'x.gguf'));
    expect(log).toEqual(['inspect x.gguf 2']);
    expect(attempts).toBe(2);
  });

  it('reads the metadata of the file it is given, without an engine', async () => {
    const service = new WorkerService({ createEngine: () => Promise.reject(new Error('no GPU needed')) });
    const bytes = writeGguf({ metadata: [kv.str('general.architecture', 'llama'), kv.u32('llama.context_length', 64)], tensors: [{ name: 'token_embd.weight', shape: [4, 2], type: GgmlType.F32 }] });
    const outcome = await service.details(new File([bytes], 'tiny.gguf'));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(JSON.stringify(outcome.value)).toContain('llama.context_length');
    expect(JSON.stringify(outcome.value)).toContain('token_embd.weight');
  });
});
