import { describe, expect, it } from 'vitest';
import { UnstoredModels } from '../../src/ui/unstored';

describe('files the browser would not store, on the page side', () => {
  it('are listed newest first under records of their own, found by id, and forgotten', () => {
    const models = new UnstoredModels();
    const file = new Blob([new Uint8Array(2)]);
    const a = models.keep(file, 'a.gguf');
    const b = models.keep([new Blob([new Uint8Array(3)]), new Blob([new Uint8Array(4)])], 'b.gguf');
    expect(a.id).toMatch(/^unstored:/);
    expect(b).toMatchObject({ name: 'b.gguf', size: 7, parts: 2 });
    expect(models.records.map((r) => r.name)).toEqual(['b.gguf', 'a.gguf']);
    expect(models.get(a.id)?.file).toBe(file);
    models.forget(a.id);
    expect(models.has(a.id)).toBe(false);
    expect(models.records.map((r) => r.name)).toEqual(['b.gguf']);
  });
});
