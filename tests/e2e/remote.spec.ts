// The page chatting through a remote OpenAI-compatible server instead of the
// local GPU, against a tiny fake server this test starts (streamed chat
// completions over server-sent events, CORS like llama-server's). Checked:
// nothing reaches the server before it is saved (the Content Security
// Policy refuses it), then the page talks to that origin and no other, the
// API key is sent, the reply streams into the chat, and a server that went
// away gives clw-remote-failed. A local load that fails leaves the server
// answering, and "Use this server" switches back to it from a model loaded
// here. Then the real thing: `claw-infer serve` on
// stories260K, allowing the page's origin, answers the page's chat with the
// text it gives the same request sent straight to it.

import { expect, test } from '@playwright/test';
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chooseFile, haveModels, LOAD_TIMEOUT, loadModel, loseDeviceInNextLoad, modelsDir, NO_MODELS, openApp, repoRoot } from './helpers';
import { makeSyntheticModel } from '../fixtures/synthetic-model';

interface FakeServer {
  url: string;
  seen: { path: string; authorization?: string; body?: { messages?: { role: string; content: string }[]; stream?: boolean } }[];
  close(): Promise<void>;
}

async function startFakeServer(): Promise<FakeServer> {
  const seen: FakeServer['seen'] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'authorization, content-type');
    if (req.method === 'OPTIONS') return void res.writeHead(204).end();
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : undefined;
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body });
      if (req.url === '/v1/models') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model' }] }));
      if (req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
      const last = body.messages.at(-1).content as string;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const chunk = (delta: object, finish: string | null = null) => ({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'fake-model', choices: [{ index: 0, delta, finish_reason: finish }] });
      const events = [chunk({ role: 'assistant', content: '' }), ...['You said', ': ', last].map((t) => chunk({ content: t })), chunk({}, 'stop')];
      events.push({ ...chunk({}), choices: [], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } } as never);
      // One event per write, split mid-line once, as a real server's packets may be.
      const text = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
      res.write(text.slice(0, 20));
      setTimeout(() => res.end(text.slice(20)), 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** fetch() from the page: 'ok', or 'blocked' when the Content Security Policy (or the network) refuses. */
function pageFetch(page: import('@playwright/test').Page, url: string): Promise<string> {
  return page.evaluate((u) => fetch(u).then(() => 'ok', () => 'blocked'), url);
}

test('chats through a saved remote OpenAI-compatible server, reaching that origin only', async ({ page, context }) => {
  const server = await startFakeServer();
  const other = await startFakeServer();
  const origins = new Set<string>();
  context.on('request', (r) => origins.add(new URL(r.url()).origin));
  try {
    await openApp(page);
    const own = new URL(page.url()).origin;
    // Before it is saved, the page cannot reach the server at all.
    expect(await pageFetch(page, `${server.url}/v1/models`)).toBe('blocked');

    const panel = page.getByTestId('remote-panel');
    await panel.locator('summary').click();
    await page.getByTestId('remote-url-input').fill('http://127.0.0.1:bad');
    await page.getByTestId('remote-save-button').click();
    await expect(page.getByTestId('error-banner')).toContainText('clw-bad-request');

    await page.getByTestId('remote-url-input').fill(server.url);
    await page.getByTestId('remote-key-input').fill('sk-test');
    await Promise.all([page.waitForNavigation(), page.getByTestId('remote-save-button').click()]);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId('model-hint')).toContainText(`fake-model at ${server.url}`);

    await page.getByTestId('mode-select').selectOption('chat');
    await page.getByTestId('prompt-input').fill('hi there');
    await page.getByTestId('send-button').click();
    const reply = page.getByTestId('assistant-output');
    await expect(reply).toHaveAttribute('data-state', 'done');
    await expect(reply).toHaveText('You said: hi there');
    await expect(page.getByTestId('error-banner')).toBeHidden();
    await expect(page.getByTestId('stat-decode')).toContainText('(3 tokens)');
    const chat = server.seen.find((s) => s.path === '/v1/chat/completions');
    expect(chat?.authorization).toBe('Bearer sk-test');
    expect(chat?.body?.stream).toBe(true);
    expect(chat?.body?.messages?.at(-1)).toEqual({ role: 'user', content: 'hi there' });

    // The saved origin and no other: another server stays out of reach.
    expect(await pageFetch(page, `${other.url}/v1/models`)).toBe('blocked');
    expect(other.seen).toEqual([]);
    expect([...origins].sort()).toEqual([own, server.url].sort());

    // A server that went away: a coded error naming it, and the page goes on.
    await server.close();
    await page.getByTestId('prompt-input').fill('still there?');
    await page.getByTestId('send-button').click();
    await expect(page.getByTestId('error-banner')).toContainText('clw-remote-failed');
    await expect(page.getByTestId('error-banner')).toContainText(server.url);
    await expect(page.getByTestId('send-button')).toBeEnabled();

    // Back to this GPU: the setting is gone and the server's origin is refused again.
    await panel.locator('summary').click();
    await Promise.all([page.waitForNavigation(), page.getByTestId('remote-clear-button').click()]);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'off');
    expect(await pageFetch(page, `${server.url}/v1/models`)).toBe('blocked');
  } finally {
    await server.close().catch(() => undefined);
    await other.close();
  }
});

test('the saved server answers again after a local load fails, and "Use this server" switches back from a loaded model without a reload', async ({ page }) => {
  const server = await startFakeServer();
  try {
    await openApp(page);
    await page.evaluate((url) => localStorage.setItem('webclaw-remote', JSON.stringify({ url })), server.url);
    await page.reload();
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'connected');
    const tiny = makeSyntheticModel({ nEmbd: 32, nLayers: 1, nHeads: 2, nKvHeads: 2, nFf: 64, ctxLength: 64, seed: 5 });
    await chooseFile(page, { name: 'tiny.gguf', buffer: Buffer.from(tiny) });
    await expect(page.getByTestId('compat-verdict')).toHaveAttribute('data-verdict', /^runs/);
    await page.getByTestId('mode-select').selectOption('chat');
    const ask = async (text: string) => {
      await page.getByTestId('prompt-input').fill(text);
      await page.getByTestId('send-button').click();
      await expect(page.getByTestId('assistant-output')).toHaveText(`You said: ${text}`);
    };

    // The GPU goes away during the load: it fails, and the server answers as before.
    await loseDeviceInNextLoad(page);
    await page.getByTestId('load-button').click();
    await expect(page.getByTestId('load-status')).toHaveAttribute('data-state', 'failed', { timeout: LOAD_TIMEOUT });
    await expect(page.getByTestId('error-banner')).toContainText('clw-device-lost');
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId('model-hint')).toContainText(`fake-model at ${server.url}`);
    await ask('after the failed load');

    // A model loaded here answers; "Use this server" on the saved one switches back, with no reload.
    await loadModel(page);
    await expect(page.getByTestId('model-hint')).toContainText('Talking to tiny.gguf');
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'off');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await page.getByTestId('remote-panel').locator('summary').click();
    await page.getByTestId('remote-save-button').click();
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId('model-hint')).toContainText(`fake-model at ${server.url}`);
    await ask('and back');
    expect(navigations).toEqual([]);
  } finally {
    await server.close();
  }
});

/** `claw-infer serve` on a free port, allowing `origin`; resolves with its URL once it listens. */
function startServe(model: string, origin: string): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/claw-infer.mjs'), 'serve', '--model', model, '--port', '0', '--allow-origin', origin], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      err += d;
      const m = /on (http:\/\/\S+)\/v1/.exec(err);
      if (m) resolve({ url: m[1], stop: () => child.kill() });
    });
    child.once('exit', (code) => reject(new Error(`claw-infer serve exited ${code}: ${err}`)));
  });
}

test('chats through claw-infer serve: the reply is the one the server gives the same request', async ({ page }) => {
  test.skip(!haveModels, NO_MODELS);
  await openApp(page);
  const serve = await startServe(path.join(modelsDir, 'stories260K.gguf'), new URL(page.url()).origin);
  try {
    await page.getByTestId('remote-panel').locator('summary').click();
    await page.getByTestId('remote-url-input').fill(`${serve.url}/v1`);
    await Promise.all([page.waitForNavigation(), page.getByTestId('remote-save-button').click()]);
    await expect(page.getByTestId('remote-status')).toHaveAttribute('data-state', 'connected');
    await expect(page.getByTestId('model-hint')).toContainText('stories260K.gguf at');

    const panel = page.getByTestId('settings-panel');
    await panel.locator('summary').click();
    await page.getByTestId('temperature-input').fill('0');
    await page.getByTestId('max-tokens-input').fill('12');
    await page.getByTestId('mode-select').selectOption('chat');
    await page.getByTestId('prompt-input').fill('Tell me a story.');
    await page.getByTestId('send-button').click();
    const reply = page.getByTestId('assistant-output');
    await expect(reply).toHaveAttribute('data-state', 'done', { timeout: 120_000 });
    await expect(page.getByTestId('error-banner')).toBeHidden();
    await expect(page.getByTestId('stat-decode')).toContainText('(12 tokens)');

    const direct = await fetch(`${serve.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell me a story.' }], temperature: 0, max_tokens: 12 }),
    }).then((r) => r.json());
    const want: string = direct.choices[0].message.content;
    expect(want.length).toBeGreaterThan(10);
    // The page shows the reply as Markdown: the same words, whitespace aside.
    const words = (t: string) => t.replace(/\s+/g, ' ').trim();
    expect(words((await reply.textContent()) ?? '')).toBe(words(want));
  } finally {
    serve.stop();
  }
});
