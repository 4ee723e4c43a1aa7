// The npm package as a user gets it: `npm pack`, install the tarball into a
// fresh project, import `webclaw` in Node (the exports map's node entry) and
// run a streamed and a non-streamed chat completion on stories260K. The
// greedy tokens must equal those of the engine built from the sources.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index-node';
import { packAndInstall, type InstalledPackage } from '../fixtures/pack-install';
import { STORIES_260K, haveModels } from '../unit/gguf-helpers';

const REQUEST = { messages: [{ role: 'user' as const, content: 'Tell me a story.' }], temperature: 0, max_tokens: 16 };

const CONSUMER = `
import * as webclaw from 'webclaw';
const engine = await webclaw.createEngine({ model: process.argv[2], ctxSize: 256 });
const request = JSON.parse(process.argv[3]);
const whole = await engine.chat.completions.create(request);
const stream = await engine.chat.completions.create({ ...request, stream: true });
let streamed = '';
for await (const chunk of stream) streamed += chunk.choices[0]?.delta.content ?? '';
let badRequest = null;
try { await engine.chat.completions.create({ ...request, n: 3 }); } catch (e) { badRequest = { isClawError: e instanceof webclaw.ClawError, code: e.code }; }
await engine.unload();
console.log(JSON.stringify({ exports: Object.keys(webclaw).sort(), whole, streamed, badRequest }));
`;

describe.skipIf(!haveModels)('the packed webclaw package in a fresh Node project', () => {
  let pkg: InstalledPackage;
  beforeAll(() => {
    pkg = packAndInstall();
    writeFileSync(path.join(pkg.project, 'consumer.mjs'), CONSUMER);
  }, 300_000);

  it('ships the bundles, declarations and CLI, and no sources', () => {
    expect(pkg.files).toEqual(expect.arrayContaining(['dist/lib/browser.mjs', 'dist/lib/node.mjs', 'dist/lib/types/index.d.ts', 'dist/lib/types/index-node.d.ts', 'dist/cli.mjs', 'bin/claw-infer.mjs', 'package.json']));
    expect(pkg.files.filter((f) => f.startsWith('src/') || f.startsWith('shaders/') || f.startsWith('tests/'))).toEqual([]);
  });

  it('imports in Node and gives the greedy tokens of the source engine, streamed and not', async () => {
    const out = execFileSync(process.execPath, ['consumer.mjs', STORIES_260K, JSON.stringify(REQUEST)], { cwd: pkg.project, encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    // The public surface: no engine internals (ClawEngine, allocator, ops); the matvec search's stores (Node's file store too).
    expect(r.exports).toEqual(['ClawError', 'ERROR_CODES', 'REQUEST_LIMITS', 'createEngine', 'createWorkerEngine', 'defaultMatvecCachePath', 'exposeEngine', 'fileMatvecStore', 'indexedDbMatvecStore', 'isClawError', 'memoryMatvecStore']);
    const local = await createEngine({ model: STORIES_260K, ctxSize: 256 });
    try {
      const want = await local.chat.completions.create(REQUEST);
      expect(r.whole.webclaw.generated_token_ids).toEqual(want.webclaw.generated_token_ids);
      expect(r.whole.choices[0].message.content).toBe(want.choices[0].message.content);
      expect(r.streamed).toBe(want.choices[0].message.content);
    } finally {
      await local.unload();
    }
    expect(r.badRequest).toEqual({ isClawError: true, code: 'clw-bad-request' });
  });
});
