// Where the matvec search keeps its choices (src/gpu/matvec-memory.ts,
// matvec-memory-node.ts): what a stored value must look like to be read
// back, the key's hash, and the CLI's JSON file (its default path, a
// corrupt file, the cap on entries). The search's use of a store is in
// tests/unit/matvec-autotune.test.ts; on a GPU in tests/gpu/matvec-autotune.test.ts.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MatvecAutotuneReport } from '../../src/gpu/matvec-autotune';
import { defaultMatvecStore, parseRemembered, rememberChoice, searchKey } from '../../src/gpu/matvec-memory';
import { defaultMatvecCachePath, fileMatvecStore, MATVEC_FILE_ENTRIES } from '../../src/gpu/matvec-memory-node';
import { hashText } from '../../src/gpu/text-hash';

const report: MatvecAutotuneReport = { chosen: 'wideLoads=1', bySite: { 'ffn_down.weight': 'wideLoads=1' }, candidates: [{ label: 'default', ms: 2 }, { label: 'wideLoads=1', ms: 1 }], tookMs: 1234 };

describe('matvec memory', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'claw-matvec-memory-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads back only what it wrote: a tuning or per-site tunings, with its report', () => {
    const at = new Date('2026-11-30T08:00:00Z');
    expect(parseRemembered(rememberChoice({ wideLoads: true }, report, at))).toEqual({ version: 1, choice: { wideLoads: true }, report, measuredAt: '2026-11-30T08:00:00.000Z' });
    expect(parseRemembered(JSON.parse(JSON.stringify(rememberChoice({ bySite: { 'attn_q.weight': { xTile: 2048 } } }, report))))?.choice).toEqual({ bySite: { 'attn_q.weight': { xTile: 2048 } } });
    const good = rememberChoice({ maxLanes: 64 }, report);
    for (const bad of [
      undefined,
      null,
      'matvec',
      { ...good, version: 2 },
      { ...good, choice: { maxLanes: '64' } }, // a field of the wrong type
      { ...good, choice: { lanes: 64 } }, // not a field of MatvecTuning
      { ...good, choice: { bySite: { 'attn_q.weight': { wideLoads: 1 } } } },
      { ...good, choice: { bySite: {}, maxLanes: 64 } },
      { ...good, report: { ...report, candidates: 'none' } },
      { ...good, measuredAt: 7 },
    ]) {
      expect(parseRemembered(bad)).toBeNull();
    }
  });

  it('keys by every part of the identity, stably', () => {
    const id = { context: 'adapter', model: 'hp', candidates: [{ label: 'default', signature: 'k1:4x1 k2:8x1' }] };
    expect(searchKey(id)).toBe(searchKey(structuredClone(id)));
    expect(searchKey(id)).toMatch(/^matvec-v1-[0-9a-f]{28}$/);
    const keys = new Set([
      searchKey(id),
      searchKey({ ...id, context: 'adapter 2' }),
      searchKey({ ...id, model: 'hp 2' }),
      searchKey({ ...id, candidates: [{ label: 'default', signature: 'k1:4x1 k2:8x2' }] }),
      searchKey({ ...id, candidates: [{ label: 'default2', signature: 'k1:4x1 k2:8x1' }] }),
    ]);
    expect(keys.size).toBe(5);
    // One character apart, anywhere: another hash.
    const text = 'x'.repeat(5000);
    expect(hashText(text)).not.toBe(hashText(`${text.slice(0, 2500)}y${text.slice(2501)}`));
    expect(hashText('')).toMatch(/^[0-9a-f]{28}$/);
  });

  it('has no default store without IndexedDB (Node): the CLI passes a file', () => {
    expect(defaultMatvecStore()).toBeNull();
    expect(defaultMatvecCachePath({ XDG_CACHE_HOME: '/x/cache' })).toBe(path.join('/x/cache', 'webclaw', 'matvec.json'));
    expect(defaultMatvecCachePath({})).toMatch(/\.cache[/\\]webclaw[/\\]matvec\.json$/);
  });

  it('keeps choices in a JSON file: round trip, a corrupt file read as empty, the oldest dropped past the cap', async () => {
    const file = path.join(dir, 'deep', 'er', 'matvec.json');
    const store = fileMatvecStore(file);
    expect(await store.get('a')).toBeUndefined();
    await store.set('a', rememberChoice({ maxLanes: 64 }, report));
    expect(parseRemembered(await store.get('a'))?.choice).toEqual({ maxLanes: 64 });
    expect(parseRemembered(await fileMatvecStore(file).get('a'))?.choice).toEqual({ maxLanes: 64 });

    writeFileSync(file, '{"a": not json');
    expect(await store.get('a')).toBeUndefined();
    await store.set('b', 1);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ b: 1 });

    for (let i = 0; i < MATVEC_FILE_ENTRIES + 3; i++) await store.set(`k${i}`, i);
    const keys = () => Object.keys(JSON.parse(readFileSync(file, 'utf8')));
    // 68 written, 64 kept: 'b', 'k0', 'k1' and 'k2' went.
    expect(keys()).toEqual(Array.from({ length: MATVEC_FILE_ENTRIES }, (_, i) => `k${i + 3}`));
    // Writing 'k3' again makes it the newest, so the next new key drops 'k4'.
    await store.set('k3', 'again');
    await store.set('z', 'new');
    expect(keys()).toHaveLength(MATVEC_FILE_ENTRIES);
    expect(keys().slice(-2)).toEqual(['k3', 'z']);
    expect(keys()).not.toContain('k4');
  });
});
