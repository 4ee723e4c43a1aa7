// The CLI as a user runs it: bad values are refused with clw-bad-request
// naming the flag, before any model loads; inspect --json survives a pipe
// whatever its size (stdout drains before the process exits), and long
// arrays are summarised unless --full.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GgmlType } from '../../src/gguf/types';
import { runCli } from '../conformance/cli-helpers';
import { makeSyntheticModel } from '../fixtures/synthetic-model';
import { STORIES_260K, haveModels } from '../unit/gguf-helpers';

describe('claw-infer', () => {
  let dir: string;
  let bigVocab: string;
  const N_VOCAB = 20_000;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'claw-cli-'));
    bigVocab = path.join(dir, 'big-vocab.gguf');
    writeFileSync(bigVocab, makeSyntheticModel({ nEmbd: 16, nLayers: 1, nHeads: 2, nKvHeads: 2, nFf: 32, nVocab: N_VOCAB, ctxLength: 64, type: GgmlType.F32, seed: 1 }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const badRuns: [string[], RegExp][] = [
    [['--n-predict', '-5'], /^clw-bad-request: --n-predict: -5/],
    [['--n-predict', '0'], /^clw-bad-request: --n-predict: 0/],
    [['--n-predict', '2.5'], /^clw-bad-request: --n-predict expects an integer/],
    [['--n-predict', '1e12'], /^clw-bad-request: --n-predict: 1000000000000/],
    [['--temp', 'NaN'], /^clw-bad-request: --temp expects a number/],
    [['--temp', 'Infinity'], /^clw-bad-request: --temp expects a number/],
    [['--temp', '-1'], /^clw-bad-request: --temp: -1/],
    [['--top-p', '2'], /^clw-bad-request: --top-p: 2/],
    [['--ctx-size', '0'], /^clw-bad-request: --ctx-size: 0/],
    [['--ctx-size', '99999999999'], /^clw-bad-request: --ctx-size: 99999999999/],
    [['--batch-size', '-1'], /^clw-bad-request: --batch-size: -1/],
    [['--kv-type', 'f8'], /^clw-bad-request: --kv-type expects f16 or f32/],
    [['--vram-limit', 'lots'], /^clw-bad-request: /],
    [['--matvec', 'fast'], /^clw-bad-request: --matvec expects default, auto or remeasure, got "fast"/],
    [['--matvec-cache', 'off'], /^clw-bad-request: --matvec-cache keeps what --matvec auto chooses/],
    [['--frobnicate', '1'], /^clw-bad-request: unknown option --frobnicate/],
  ];
  for (const [args, message] of badRuns) {
    it(`run ${args.join(' ')}: clw-bad-request naming the flag, exit status 2, nothing on stdout`, () => {
      const r = runCli(['run', '--model', bigVocab, '--prompt', 'hi', ...args]);
      expect(r.stderr).toMatch(message);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).not.toMatch(/memory plan/);
    });
  }

  it('run on a file that is not GGUF, or is empty: clw-model-invalid', () => {
    const notGguf = path.join(dir, 'not.gguf');
    const empty = path.join(dir, 'empty.gguf');
    writeFileSync(notGguf, 'this is a text file, not a model\n');
    writeFileSync(empty, '');
    for (const file of [notGguf, empty]) {
      const r = runCli(['run', '--model', file, '--prompt', 'hi']);
      expect(r.stderr).toMatch(/^clw-model-invalid: /);
      expect(r.status).toBe(1);
    }
  });

  it('inspect --json --full prints the whole vocabulary through a pipe (far past 64 KiB)', () => {
    const r = runCli(['inspect', bigVocab, '--json', '--full']);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(4 * 64 * 1024);
    const json = JSON.parse(r.stdout);
    expect(json.metadata['tokenizer.ggml.tokens']).toHaveLength(N_VOCAB);
  });

  it('inspect --json summarises long arrays unless --full', () => {
    const r = runCli(['inspect', bigVocab, '--json']);
    const tokens = JSON.parse(r.stdout).metadata['tokenizer.ggml.tokens'];
    expect(tokens.array_length).toBe(N_VOCAB);
    expect(tokens.first).toHaveLength(8);
  });

  it.skipIf(!haveModels)('run --matvec auto times the matvec tunings at load, says which it runs, and the next run reads it back from the cache', () => {
    // Without --matvec-cache the file is $XDG_CACHE_HOME/webclaw/matvec.json.
    const env = { XDG_CACHE_HOME: path.join(dir, 'xdg') };
    const cacheFile = path.join(dir, 'xdg', 'webclaw', 'matvec.json');
    const args = ['run', '--model', STORIES_260K, '--prompt', 'Once upon', '--n-predict', '2', '--temp', '0', '--matvec', 'auto', '--json'];
    const r = runCli(args, env);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim());
    const tuning = out.matvec_tuning;
    expect(tuning.candidates[0]).toMatchObject({ label: 'default' });
    expect(tuning.candidates[0].ms).toBeGreaterThan(0);
    expect(tuning.memory.measuredAt).toBeUndefined();
    expect(r.stderr).toContain(`matvec tuning: ${tuning.chosen}, chosen at load from`);
    const stored = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(Object.keys(stored)).toEqual([tuning.memory.key]);

    const again = runCli(args, env);
    expect(again.status).toBe(0);
    const out2 = JSON.parse(again.stdout.trim());
    expect(out2.matvec_tuning).toMatchObject({ chosen: tuning.chosen, bySite: tuning.bySite, candidates: tuning.candidates, memory: { key: tuning.memory.key, measuredAt: stored[tuning.memory.key].measuredAt, searchMs: tuning.tookMs } });
    expect(out2.matvec_tuning.tookMs).toBeLessThan(tuning.tookMs);
    expect(again.stderr).toContain(`matvec tuning: ${tuning.chosen}, remembered from a search at ${stored[tuning.memory.key].measuredAt}`);
    expect(out2.text).toBe(out.text);

    // --matvec remeasure: searched although a choice is kept, and the kept one replaced.
    const re = runCli([...args.slice(0, -3), '--matvec', 'remeasure', '--json'], env);
    const tuning3 = JSON.parse(re.stdout.trim()).matvec_tuning;
    expect(tuning3.memory).toEqual({ key: tuning.memory.key, replaced: stored[tuning.memory.key].measuredAt });
    expect(re.stderr).toContain(`chosen at load from`);
    expect(re.stderr).toContain(`; replaces the choice measured at ${stored[tuning.memory.key].measuredAt}`);
    const restored = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(restored[tuning.memory.key].measuredAt > stored[tuning.memory.key].measuredAt).toBe(true);

    // --matvec-cache off: searched again, nothing written.
    const off = runCli([...args, '--matvec-cache', 'off'], { XDG_CACHE_HOME: path.join(dir, 'xdg-off') });
    expect(JSON.parse(off.stdout.trim()).matvec_tuning.memory).toBeUndefined();
    // (Deno keeps its own cache in $XDG_CACHE_HOME/deno: only webclaw's folder must be absent.)
    expect(existsSync(path.join(dir, 'xdg-off', 'webclaw'))).toBe(false);
  });

  it.skipIf(!haveModels)('inspect --vram-limit shows the plan run loads with', () => {
    const inspect = runCli(['inspect', STORIES_260K, '--vram-limit', '3MiB']);
    const planLine = /memory plan: (.*)/.exec(inspect.stdout)![1];
    const run = runCli(['run', '--model', STORIES_260K, '--prompt', 'Once upon', '--n-predict', '4', '--temp', '0', '--vram-limit', '3MiB']);
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`memory plan: ${planLine}`);
  });
});
