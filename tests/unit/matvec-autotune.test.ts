// The matvec search's own logic (src/gpu/matvec-autotune.ts) over a fake
// device: which candidate each projection site keeps, the check of a
// choice against the default's whole pass, what it reports for refused,
// repeated and unfinished candidates, how many passes it times, and that it
// frees every recording. tests/gpu/matvec-autotune.test.ts runs it on a GPU.

import { describe, expect, it } from 'vitest';
import { ClawError } from '../../src/errors';
import { AUTOTUNE_MARGIN, autotuneMatvec, chooseMatvec, pickTuning, timePasses, type AutotuneTarget, type CandidateRun } from '../../src/gpu/matvec-autotune';
import { memoryMatvecStore, rememberChoice, type MatvecChoiceStore } from '../../src/gpu/matvec-memory';
import type { MatvecChoice, MatvecTuning, MatvecTuningCase } from '../../src/gpu/matvec-tuning';

const labelOf = (m: MatvecChoice) => JSON.stringify(m);
const SITES = ['attn_q.weight', 'ffn_down.weight'];

/**
 * A device where the matvecs of site s take `ms[label][s]` of a fake clock
 * per pass (a number: every site alike) under the tuning labelled so; a
 * per-site choice ({ bySite }) takes each site's own tuning's time.
 */
function fakeTarget(ms: Record<string, number | Record<string, number>>, refuse: Record<string, string> = {}, signatures: Record<string, string> = {}) {
  let clock = 0;
  const log = { signed: [] as string[], recorded: [] as string[], freed: [] as string[], submissions: [] as { label: string; passes: number; site?: string }[] };
  const siteMs = (label: string, site: string): number => {
    const m = ms[label];
    return typeof m === 'number' ? m : m[site];
  };
  const passMs = (choice: MatvecChoice, site: string): number =>
    'bySite' in choice ? siteMs(labelOf(choice.bySite[site] as Partial<MatvecTuning>), site) : siteMs(labelOf(choice), site);
  const target: AutotuneTarget = {
    now: () => clock,
    signature: (matvec) => {
      const label = labelOf(matvec);
      log.signed.push(label);
      if (refuse[label]) throw new ClawError('clw-bad-request', refuse[label]);
      return signatures[label] ?? label;
    },
    record: async (matvec) => {
      const label = labelOf(matvec);
      if (refuse[label]) throw new ClawError('clw-bad-request', refuse[label]);
      log.recorded.push(label);
      const run: CandidateRun = {
        sites: SITES,
        run: async (passes, site) => {
          log.submissions.push({ label, passes, site });
          clock += passes * (site === undefined ? SITES.reduce((t, s) => t + passMs(matvec, s), 0) : passMs(matvec, site));
        },
        free: () => log.freed.push(label),
      };
      return run;
    },
  };
  return { target, log };
}

const cases = (...tunings: Partial<MatvecTuning>[]): MatvecTuningCase[] => tunings.map((matvec, i) => ({ label: i === 0 ? 'default' : `c${i}`, matvec }));

describe('matvec autotune', () => {
  it('keeps the default unless a candidate beats it by more than the margin', () => {
    const t = (ms: (number | null)[]) => ms.map((m, i) => ({ label: i === 0 ? 'default' : `c${i}`, ms: m }));
    expect(pickTuning(t([10, 9.6, 9.7]))).toBe('default'); // 4% faster: noise
    expect(pickTuning(t([10, 9.6, 8]))).toBe('c2');
    expect(pickTuning(t([10, 12, null]))).toBe('default');
    expect(pickTuning(t([10, 10 * (1 - AUTOTUNE_MARGIN) - 0.01]))).toBe('c1');
    expect(pickTuning(t([null, 5]))).toBe('default'); // no baseline: nothing to compare with
  });

  it('times each site under every candidate and runs the fastest everywhere when one wins everywhere', async () => {
    const c = cases({}, { maxLanes: 64 }, { xTile: 2048 });
    const { target, log } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1.5, [labelOf({ xTile: 2048 })]: 1 });
    const { report, choice } = await autotuneMatvec(target, c);
    expect(report.chosen).toBe('c2');
    expect(choice).toEqual({ xTile: 2048 });
    expect(report.bySite).toEqual({ 'attn_q.weight': 'c2', 'ffn_down.weight': 'c2' });
    expect(report.candidates.map((x) => [x.label, x.ms])).toEqual([['default', 4], ['c1', 3], ['c2', 2]]);
    expect(report.candidates[2].sites).toEqual({ 'attn_q.weight': 1, 'ffn_down.weight': 1 });
    // First round: each site of each candidate on its own; then whole passes, default and choice alternately.
    expect(log.submissions.filter((s) => s.site === undefined).map((s) => s.label)).toEqual(
      Array.from({ length: 3 }, () => Array(5).fill(labelOf({})).concat(Array(5).fill(labelOf({ xTile: 2048 })))).flat(),
    );
    expect(report.confirm).toEqual({ label: 'c2', ms: 2, defaultMs: 4 });
    expect(log.freed).toEqual(log.recorded);
    expect(report.tookMs).toBeGreaterThan(0);
  });

  it('lets each site take its own fastest, and records the pass with a tuning per site', async () => {
    const c = cases({}, { maxLanes: 128 }, { int8Dot: true });
    const { target } = fakeTarget({
      [labelOf({})]: { 'attn_q.weight': 1, 'ffn_down.weight': 4 },
      [labelOf({ maxLanes: 128 })]: { 'attn_q.weight': 1.2, 'ffn_down.weight': 2 },
      [labelOf({ int8Dot: true })]: { 'attn_q.weight': 0.98, 'ffn_down.weight': 3 },
    });
    const { report, choice } = await autotuneMatvec(target, c);
    // attn_q: c2 is 2% faster (noise: the default stays); ffn_down: c1 halves it.
    expect(report.bySite).toEqual({ 'attn_q.weight': 'default', 'ffn_down.weight': 'c1' });
    expect(report.chosen).toBe('ffn_down.weight: c1');
    expect(choice).toEqual({ bySite: { 'attn_q.weight': {}, 'ffn_down.weight': { maxLanes: 128 } } });
    expect(report.confirm).toEqual({ label: 'ffn_down.weight: c1', ms: expect.closeTo(3, 9), defaultMs: expect.closeTo(5, 9) });
  });

  it('reports a tuning the device refuses and goes on; a refused baseline fails the load', async () => {
    const c = cases({}, { workgroup: 4096 }, { maxLanes: 64 });
    const { target } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1 }, { [labelOf({ workgroup: 4096 })]: 'matvec tuning workgroup 4096: too big' });
    const { report } = await autotuneMatvec(target, c);
    expect(report.candidates[1]).toEqual({ label: 'c1', ms: null, skipped: 'matvec tuning workgroup 4096: too big' });
    expect(report.chosen).toBe('c2');
    const refused = fakeTarget({}, { [labelOf({})]: 'no' });
    await expect(autotuneMatvec(refused.target, c)).rejects.toMatchObject({ code: 'clw-bad-request' });
  });

  it('times a candidate that records the same kernels as an earlier one only once', async () => {
    const c = cases({}, { maxLanes: 64 }, { maxLanes: 128 });
    const same = { [labelOf({ maxLanes: 128 })]: labelOf({ maxLanes: 64 }) };
    const { target, log } = fakeTarget({ [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 1, [labelOf({ maxLanes: 128 })]: 1 }, {}, same);
    const { report } = await autotuneMatvec(target, c);
    expect(report.candidates[2]).toEqual({ label: 'c2', ms: null, skipped: 'the same kernels and grids as c1' });
    expect(report.chosen).toBe('c1');
    // Known from its signature: neither recorded (compiled) nor run.
    expect(log.recorded).not.toContain(labelOf({ maxLanes: 128 }));
    expect(log.submissions.filter((s) => s.label === labelOf({ maxLanes: 128 }))).toEqual([]);
    expect(log.freed).toEqual(log.recorded);
  });

  it('keeps the default when its whole pass, timed alternately with the choice, shows the first round was noise', async () => {
    const c = cases({}, { maxLanes: 64 });
    let clock = 0;
    let defaultRuns = 0;
    const target: AutotuneTarget = {
      now: () => clock,
      signature: labelOf,
      record: async (matvec) => {
        const isDefault = labelOf(matvec) === labelOf({});
        return {
          sites: ['ffn_down.weight'],
          // The default's first timing (its first 5 submissions) ran at half speed; afterwards both take 1 ms a pass.
          run: async (passes) => void (clock += passes * (isDefault && defaultRuns++ < 5 ? 2 : 1)),
          free: () => undefined,
        };
      },
    };
    const { report, choice } = await autotuneMatvec(target, c);
    expect(report.candidates.map((x) => x.ms)).toEqual([2, 1]);
    expect(report.confirm).toEqual({ label: 'c1', ms: 1, defaultMs: 1 });
    expect(report.chosen).toBe('default');
    expect(choice).toEqual({});
  });

  it('stops timing when the budget is spent, and says so', async () => {
    const c = cases({}, { maxLanes: 64 }, { maxLanes: 128 });
    const { target, log } = fakeTarget({ [labelOf({})]: 25, [labelOf({ maxLanes: 64 })]: 25, [labelOf({ maxLanes: 128 })]: 1 });
    const { report } = await autotuneMatvec(target, c, 200);
    // Each candidate takes 5 passes of 25 ms at each of 2 sites. The budget counts from the baseline's end (250 ms):
    // the second starts at 0 ms of it, the third at 250 ms, past the 200 ms budget.
    expect(report.candidates.map((x) => x.skipped ?? 'timed')).toEqual(['timed', 'timed', "the search's 200 ms budget ran out"]);
    expect(report.chosen).toBe('default');
    expect(log.recorded).toHaveLength(2);
  });

  it('fills a round with enough passes to outweigh a submission', async () => {
    const { target, log } = fakeTarget({ [labelOf({})]: 0.5, [labelOf({ maxLanes: 64 })]: 0.01 });
    const ms = await timePasses(await target.record({}), target.now, 'ffn_down.weight');
    expect(ms).toBe(0.5);
    // A warm-up pass, one to size the rounds, then rounds of 20 ms / 0.5 ms = 40 passes.
    expect(log.submissions.map((s) => s.passes)).toEqual([1, 1, 40, 40, 40]);
    expect(log.submissions.every((s) => s.site === 'ffn_down.weight')).toBe(true);
    // 20 ms / 0.01 ms would be 2000 passes a round: capped at 256.
    await timePasses(await target.record({ maxLanes: 64 }), target.now, 'ffn_down.weight');
    expect(log.submissions.slice(5).map((s) => s.passes)).toEqual([1, 1, 256, 256, 256]);
  });
});

describe('matvec search remembered (chooseMatvec)', () => {
  const c = cases({}, { maxLanes: 64 }, { xTile: 2048 });
  const times = { [labelOf({})]: 2, [labelOf({ maxLanes: 64 })]: 3, [labelOf({ xTile: 2048 })]: 1 };
  const memoryOf = (store: MatvecChoiceStore, context = 'adapter A', model = 'model M') => ({ store, context, model });

  it('searches once, then takes the stored choice without recording or timing anything', async () => {
    const store = memoryMatvecStore();
    const first = fakeTarget(times);
    const a = await chooseMatvec(first.target, c, memoryOf(store));
    expect(a.choice).toEqual({ xTile: 2048 });
    expect(a.report.memory?.key).toMatch(/^matvec-v1-[0-9a-f]{28}$/);
    expect(a.report.memory?.measuredAt).toBeUndefined();
    expect(store.entries.size).toBe(1);
    // Each candidate recorded once for its signature: the key's, which the search then uses.
    expect(first.log.signed).toEqual(c.map((x) => labelOf(x.matvec)));
    const second = fakeTarget(times);
    const b = await chooseMatvec(second.target, c, memoryOf(store));
    expect(b.choice).toEqual({ xTile: 2048 });
    expect(second.log.recorded).toEqual([]);
    // The candidates for the key, then the stored choice (does the device still take it?).
    expect(second.log.signed).toEqual([...c.map((x) => labelOf(x.matvec)), labelOf({ xTile: 2048 })]);
    expect(second.log.submissions).toEqual([]);
    expect(b.report.chosen).toBe('c2');
    expect(b.report.candidates).toEqual(a.report.candidates);
    expect(b.report.memory).toEqual({ key: a.report.memory!.key, measuredAt: expect.any(String), searchMs: a.report.tookMs });
    expect(b.report.tookMs).toBe(0); // the fake clock moves only when passes run
  });

  it('with remeasure, searches although a choice is stored, and replaces it', async () => {
    const store = memoryMatvecStore();
    const first = await chooseMatvec(fakeTarget(times).target, c, memoryOf(store));
    const stored = store.entries.get(first.report.memory!.key) as { measuredAt: string };
    // The device got faster at maxLanes=64 (say the first search ran while something else used the GPU).
    const t = fakeTarget({ ...times, [labelOf({ maxLanes: 64 })]: 0.5 });
    const again = await chooseMatvec(t.target, c, { ...memoryOf(store), remeasure: true });
    expect(t.log.submissions.length).toBeGreaterThan(0);
    expect(again.choice).toEqual({ maxLanes: 64 });
    expect(again.report.memory).toEqual({ key: first.report.memory!.key, replaced: stored.measuredAt });
    expect(store.entries.get(first.report.memory!.key)).toMatchObject({ choice: { maxLanes: 64 } });
  });

  it('searches again when the adapter, the model or any candidate kernel differs', async () => {
    const store = memoryMatvecStore();
    await chooseMatvec(fakeTarget(times).target, c, memoryOf(store));
    for (const [memory, signatures] of [
      [memoryOf(store, 'adapter B'), {}],
      [memoryOf(store, 'adapter A', 'model N'), {}],
      // A kernel of the third candidate changed (another hash in its recorded signature).
      [memoryOf(store), { [labelOf({ xTile: 2048 })]: 'changed kernel' }],
    ] as const) {
      const t = fakeTarget(times, {}, signatures);
      const r = await chooseMatvec(t.target, c, memory);
      expect(r.report.memory?.measuredAt).toBeUndefined();
      expect(t.log.submissions.length).toBeGreaterThan(0);
    }
    expect(store.entries.size).toBe(4);
    // And the list of candidates is part of the key.
    const t = fakeTarget(times);
    await chooseMatvec(t.target, c.slice(0, 2), memoryOf(store));
    expect(t.log.submissions.length).toBeGreaterThan(0);
  });

  it('ignores a stored value it cannot read, and a choice the device now refuses, and replaces it', async () => {
    const store = memoryMatvecStore();
    const { report } = await chooseMatvec(fakeTarget(times).target, c, memoryOf(store));
    const key = report.memory!.key;
    for (const bad of [{ garbage: true }, { ...rememberChoice({ xTile: 'wide' } as never, report) }, { ...rememberChoice({ xTile: 2048 }, report), version: 0 }]) {
      await store.set(key, bad);
      const t = fakeTarget(times);
      const r = await chooseMatvec(t.target, c, memoryOf(store));
      expect(r.report.memory?.measuredAt).toBeUndefined();
      expect(t.log.submissions.length).toBeGreaterThan(0);
      expect(store.entries.get(key)).toMatchObject({ version: 1, choice: { xTile: 2048 } });
    }
    // Stored: a tuning the device refuses (as after a browser update lowered a limit): searched again.
    await store.set(key, rememberChoice({ workgroup: 4096 }, report));
    const t = fakeTarget(times, { [labelOf({ workgroup: 4096 })]: 'workgroup over the limit' });
    const r = await chooseMatvec(t.target, c, memoryOf(store));
    expect(r.choice).toEqual({ xTile: 2048 });
    expect(t.log.submissions.length).toBeGreaterThan(0);
    expect(store.entries.get(key)).toMatchObject({ choice: { xTile: 2048 } });
  });

  it('keeps nothing from a search in which a candidate failed other than by a refusal (the device lost, out of memory)', async () => {
    const store = memoryMatvecStore();
    const { target } = fakeTarget(times);
    const record = target.record;
    target.record = async (matvec) => {
      if (labelOf(matvec) === labelOf({ maxLanes: 64 })) throw new ClawError('clw-device-lost', 'the GPU device was lost');
      return record(matvec);
    };
    const r = await chooseMatvec(target, c, memoryOf(store));
    expect(r.report.candidates[1]).toEqual({ label: 'c1', ms: null, skipped: 'the GPU device was lost', failed: true });
    expect(r.report.memory?.error).toBe('not kept: c1 failed (the GPU device was lost)');
    expect(store.entries.size).toBe(0);
    // A refusal is the device's answer, the same every time: that search is kept.
    const refusing = await chooseMatvec(fakeTarget(times, { [labelOf({ maxLanes: 64 })]: 'too many lanes' }).target, c, memoryOf(store));
    expect(refusing.report.candidates[1]).toEqual({ label: 'c1', ms: null, skipped: 'too many lanes' });
    expect(store.entries.size).toBe(1);
  });

  it('keys a refused candidate by its refusal, and searches on when the store fails', async () => {
    const refusing = fakeTarget(times, { [labelOf({ maxLanes: 64 })]: 'too many lanes' });
    const store = memoryMatvecStore();
    const a = await chooseMatvec(refusing.target, c, memoryOf(store));
    const b = await chooseMatvec(fakeTarget(times).target, c, memoryOf(store));
    expect(b.report.memory!.key).not.toBe(a.report.memory!.key);
    const broken: MatvecChoiceStore = {
      get: async () => {
        throw new Error('quota');
      },
      set: async () => {
        throw new Error('read-only');
      },
    };
    const r = await chooseMatvec(fakeTarget(times).target, c, memoryOf(broken));
    expect(r.choice).toEqual({ xTile: 2048 });
    expect(r.report.memory?.error).toBe('reading the store failed: quota');
    const writeOnly = { ...broken, get: async () => undefined };
    expect((await chooseMatvec(fakeTarget(times).target, c, memoryOf(writeOnly))).report.memory?.error).toBe('writing the store failed: read-only');
  });
});
