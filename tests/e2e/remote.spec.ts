// The page chatting through a remote OpenAI-compatible server instead of the
// local GPU, against a tiny fake server this test starts (streamed chat
// completions over server-sent events, CORS like llama-server's). Checked:
// nothing reaches the server before it is saved (the Content Security
// Policy refuses it), then the page talks to that origin and no other, the
// API key is sent, the reply streams into the chat, and a server that went
// away gives clw-remote-failed.

import { expect, test } from '@playwright/test';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openApp } from './helpers';

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
