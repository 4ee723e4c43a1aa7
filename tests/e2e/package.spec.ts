// The npm package in a browser: `npm pack`, install the tarball into a
// fresh project, build a tiny page with Vite (no plugin: the WGSL is inside
// the package), and in Chromium run a streamed and a non-streamed chat
// completion with createEngine on the main thread and with
// createWorkerEngine through a Web Worker. Greedy tokens must equal the CLI's.
// Through the worker, also 4 streamed requests at once with one stopped after
// its first chunk: the stopped one ends with clw-aborted, the other 3 give
// the text of the request alone.

import { expect, test } from '@playwright/test';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { packAndInstall, repoRoot } from '../fixtures/pack-install';

const MODEL = path.resolve(repoRoot, '../shared/models/stories260K.gguf');
const PROMPT = 'Tell me a story.';
const N = 12;

const PAGE_SCRIPT = `
import { ClawError, createEngine, createWorkerEngine } from 'webclaw';
const request = { messages: [{ role: 'user', content: ${JSON.stringify(PROMPT)} }], temperature: 0, max_tokens: ${N} };
async function concurrent(engine) {
  const stop = new AbortController();
  const read = async (i) => {
    let text = '';
    try {
      for await (const chunk of await engine.chat.completions.create({ ...request, stream: true, signal: i === 1 ? stop.signal : undefined })) {
        text += chunk.choices[0]?.delta.content ?? '';
        if (i === 1) stop.abort();
      }
      return text;
    } catch (e) {
      return e.code;
    }
  };
  return Promise.all([0, 1, 2, 3].map(read));
}
async function run(engine, stress) {
  const together = stress ? await concurrent(engine) : null;
  const whole = await engine.chat.completions.create(request);
  let streamed = '';
  for await (const chunk of await engine.chat.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
  let error = null;
  try { await engine.chat.completions.create({ ...request, n: 2 }); } catch (e) { error = { isClawError: e instanceof ClawError, code: e.code }; }
  await engine.unload();
  return { ids: whole.webclaw.generated_token_ids, text: whole.choices[0].message.content, streamed, error, together };
}
try {
  const model = await (await fetch('/model.gguf')).blob();
  const main = await run(await createEngine({ model, ctxSize: 256 }), false);
  const worker = new Worker(new URL('./engine-worker.js', import.meta.url), { type: 'module' });
  const inWorker = await run(await createWorkerEngine(worker, { model, ctxSize: 256 }), true);
  window.__result = { main, inWorker };
} catch (e) {
  window.__result = { failure: String(e), code: e.code };
}
`;

function serveDir(dir: string): Promise<{ server: Server; url: string }> {
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript' };
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname;
    const file = name === '/model.gguf' ? MODEL : path.join(dir, name === '/' ? 'index.html' : path.normalize(name));
    if (!file.startsWith(dir) && file !== MODEL) return void res.writeHead(403).end();
    if (!existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': types[path.extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

test.describe('the packed webclaw package in a Vite page', () => {
  test.skip(!existsSync(MODEL), `${MODEL} is absent: skipping`);

  test('createEngine and createWorkerEngine chat in Chromium with the CLI greedy tokens', async ({ page }) => {
    test.setTimeout(480_000);
    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'bin/claw-infer.mjs'), 'run', '--model', MODEL, '--chat', '--prompt', PROMPT, '--temp', '0', '--n-predict', String(N), '--json'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const want = JSON.parse(cli.stdout.trim().split('\n').pop()!);

    const { project } = packAndInstall(false);
    writeFileSync(path.join(project, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(path.join(project, 'main.js'), PAGE_SCRIPT);
    writeFileSync(path.join(project, 'engine-worker.js'), "import { exposeEngine } from 'webclaw';\nexposeEngine();\n");
    writeFileSync(path.join(project, 'vite.config.js'), "export default { worker: { format: 'es' }, build: { target: 'es2022' }, logLevel: 'warn' };\n");
    execFileSync(process.execPath, [path.join(repoRoot, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: project, stdio: 'pipe' });

    const { server, url } = await serveDir(path.join(project, 'dist'));
    try {
      await page.goto(url);
      await page.waitForFunction(() => (window as unknown as { __result?: unknown }).__result !== undefined, undefined, { timeout: 300_000 });
      const r = await page.evaluate(() => (window as unknown as { __result: Record<string, any> }).__result);
      expect(r.failure).toBeUndefined();
      for (const side of [r.main, r.inWorker]) {
        expect(side.ids).toEqual(want.generated_token_ids);
        expect(side.text).toBe(want.text);
        expect(side.streamed).toBe(want.text);
        expect(side.error).toEqual({ isClawError: true, code: 'clw-bad-request' });
      }
      expect(r.inWorker.together).toEqual([want.text, 'clw-aborted', want.text, want.text]);
    } finally {
      server.close();
    }
  });
});
